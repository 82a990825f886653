from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.target_settings import TargetSettings
from ...models.target_view import TargetView
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: TargetSettings,
    if_match: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["If-Match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/notification-targets/{name}".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TargetView | None:
    if response.status_code == 200:
        response_200 = TargetView.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = TargetView.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())

        return response_412

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 428:
        response_428 = Problem.from_dict(response.json())

        return response_428

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | TargetView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
    body: TargetSettings,
    if_match: str,
) -> Response[Problem | TargetView]:
    """Create or replace a notification target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `kind` `webhook` (`url`, optional
    `secret_file` for an HMAC-SHA256 signature of the body in `signature_header`, `headers`),
    `email` (`smtp_host`, `smtp_port`, `tls` `starttls`/`tls`/`none`, `username` with
    `password_file`, `from`, `to`) or `ping` (`url`, pinged on success, `<url>/start` and
    `<url>/fail`; or `start_url`, `success_url`, `fail_url`); `timeout_seconds` (1 to 300);
    the matcher `events`, `min_severity`, `mode` (`all`/`any`); no matcher: warnings and
    errors. Needs `If-Match`: the `ETag` of `GET`, or `*` (which also creates): 428 without it,
    412 when stale, 404 for an ETag of a target that does not exist. Refused with 422 naming
    each field, changing nothing: an unknown kind or event, a URL that is not http(s), a
    secret file that cannot be read, an SMTP port out of range, a key of another kind. The
    config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (TargetSettings): A notification target's settings, as in the file
            (`[[notification_targets]]`, without
            `name`) and in the API. Which keys apply depends on `kind`; the others must be absent.
            Secrets are never here: `secret_file` and `password_file` name the files holding them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TargetView]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient,
    body: TargetSettings,
    if_match: str,
) -> Problem | TargetView | None:
    """Create or replace a notification target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `kind` `webhook` (`url`, optional
    `secret_file` for an HMAC-SHA256 signature of the body in `signature_header`, `headers`),
    `email` (`smtp_host`, `smtp_port`, `tls` `starttls`/`tls`/`none`, `username` with
    `password_file`, `from`, `to`) or `ping` (`url`, pinged on success, `<url>/start` and
    `<url>/fail`; or `start_url`, `success_url`, `fail_url`); `timeout_seconds` (1 to 300);
    the matcher `events`, `min_severity`, `mode` (`all`/`any`); no matcher: warnings and
    errors. Needs `If-Match`: the `ETag` of `GET`, or `*` (which also creates): 428 without it,
    412 when stale, 404 for an ETag of a target that does not exist. Refused with 422 naming
    each field, changing nothing: an unknown kind or event, a URL that is not http(s), a
    secret file that cannot be read, an SMTP port out of range, a key of another kind. The
    config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (TargetSettings): A notification target's settings, as in the file
            (`[[notification_targets]]`, without
            `name`) and in the API. Which keys apply depends on `kind`; the others must be absent.
            Secrets are never here: `secret_file` and `password_file` name the files holding them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TargetView
    """

    return sync_detailed(
        name=name,
        client=client,
        body=body,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
    body: TargetSettings,
    if_match: str,
) -> Response[Problem | TargetView]:
    """Create or replace a notification target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `kind` `webhook` (`url`, optional
    `secret_file` for an HMAC-SHA256 signature of the body in `signature_header`, `headers`),
    `email` (`smtp_host`, `smtp_port`, `tls` `starttls`/`tls`/`none`, `username` with
    `password_file`, `from`, `to`) or `ping` (`url`, pinged on success, `<url>/start` and
    `<url>/fail`; or `start_url`, `success_url`, `fail_url`); `timeout_seconds` (1 to 300);
    the matcher `events`, `min_severity`, `mode` (`all`/`any`); no matcher: warnings and
    errors. Needs `If-Match`: the `ETag` of `GET`, or `*` (which also creates): 428 without it,
    412 when stale, 404 for an ETag of a target that does not exist. Refused with 422 naming
    each field, changing nothing: an unknown kind or event, a URL that is not http(s), a
    secret file that cannot be read, an SMTP port out of range, a key of another kind. The
    config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (TargetSettings): A notification target's settings, as in the file
            (`[[notification_targets]]`, without
            `name`) and in the API. Which keys apply depends on `kind`; the others must be absent.
            Secrets are never here: `secret_file` and `password_file` name the files holding them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TargetView]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient,
    body: TargetSettings,
    if_match: str,
) -> Problem | TargetView | None:
    """Create or replace a notification target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `kind` `webhook` (`url`, optional
    `secret_file` for an HMAC-SHA256 signature of the body in `signature_header`, `headers`),
    `email` (`smtp_host`, `smtp_port`, `tls` `starttls`/`tls`/`none`, `username` with
    `password_file`, `from`, `to`) or `ping` (`url`, pinged on success, `<url>/start` and
    `<url>/fail`; or `start_url`, `success_url`, `fail_url`); `timeout_seconds` (1 to 300);
    the matcher `events`, `min_severity`, `mode` (`all`/`any`); no matcher: warnings and
    errors. Needs `If-Match`: the `ETag` of `GET`, or `*` (which also creates): 428 without it,
    412 when stale, 404 for an ETag of a target that does not exist. Refused with 422 naming
    each field, changing nothing: an unknown kind or event, a URL that is not http(s), a
    secret file that cannot be read, an SMTP port out of range, a key of another kind. The
    config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (TargetSettings): A notification target's settings, as in the file
            (`[[notification_targets]]`, without
            `name`) and in the API. Which keys apply depends on `kind`; the others must be absent.
            Secrets are never here: `secret_file` and `password_file` name the files holding them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TargetView
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed
