from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.settings_update import SettingsUpdate
from ...models.settings_view import SettingsView
from ...types import Response


def _get_kwargs(
    *,
    body: SettingsUpdate,
    if_match: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["If-Match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/settings",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SettingsView | None:
    if response.status_code == 200:
        response_200 = SettingsView.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[Problem | SettingsView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: SettingsUpdate,
    if_match: str,
) -> Response[Problem | SettingsView]:
    """Replace the schedule and hooks

     Replaces the whole `schedule` and `hooks` (admin). Needs `If-Match` with the `ETag` of
    `GET /settings` (`*` writes unconditionally): without it 428 (`precondition_required`),
    with a stale one 412 (`precondition_failed`). Every field is checked first; any invalid one
    is a 422 (`validation_failed`) naming each in `errors`, and nothing changes. Then the config
    file is written atomically, keeping its comments, and the schedule takes effect at once
    (no restart); a running backup is not affected. Answers at once with the new settings and
    `ETag`; 503 (`unavailable`) when the file cannot be written.

    Args:
        if_match (str):
        body (SettingsUpdate): `PUT /settings`: the whole `schedule` and `hooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SettingsView]
    """

    kwargs = _get_kwargs(
        body=body,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: SettingsUpdate,
    if_match: str,
) -> Problem | SettingsView | None:
    """Replace the schedule and hooks

     Replaces the whole `schedule` and `hooks` (admin). Needs `If-Match` with the `ETag` of
    `GET /settings` (`*` writes unconditionally): without it 428 (`precondition_required`),
    with a stale one 412 (`precondition_failed`). Every field is checked first; any invalid one
    is a 422 (`validation_failed`) naming each in `errors`, and nothing changes. Then the config
    file is written atomically, keeping its comments, and the schedule takes effect at once
    (no restart); a running backup is not affected. Answers at once with the new settings and
    `ETag`; 503 (`unavailable`) when the file cannot be written.

    Args:
        if_match (str):
        body (SettingsUpdate): `PUT /settings`: the whole `schedule` and `hooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SettingsView
    """

    return sync_detailed(
        client=client,
        body=body,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: SettingsUpdate,
    if_match: str,
) -> Response[Problem | SettingsView]:
    """Replace the schedule and hooks

     Replaces the whole `schedule` and `hooks` (admin). Needs `If-Match` with the `ETag` of
    `GET /settings` (`*` writes unconditionally): without it 428 (`precondition_required`),
    with a stale one 412 (`precondition_failed`). Every field is checked first; any invalid one
    is a 422 (`validation_failed`) naming each in `errors`, and nothing changes. Then the config
    file is written atomically, keeping its comments, and the schedule takes effect at once
    (no restart); a running backup is not affected. Answers at once with the new settings and
    `ETag`; 503 (`unavailable`) when the file cannot be written.

    Args:
        if_match (str):
        body (SettingsUpdate): `PUT /settings`: the whole `schedule` and `hooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SettingsView]
    """

    kwargs = _get_kwargs(
        body=body,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: SettingsUpdate,
    if_match: str,
) -> Problem | SettingsView | None:
    """Replace the schedule and hooks

     Replaces the whole `schedule` and `hooks` (admin). Needs `If-Match` with the `ETag` of
    `GET /settings` (`*` writes unconditionally): without it 428 (`precondition_required`),
    with a stale one 412 (`precondition_failed`). Every field is checked first; any invalid one
    is a 422 (`validation_failed`) naming each in `errors`, and nothing changes. Then the config
    file is written atomically, keeping its comments, and the schedule takes effect at once
    (no restart); a running backup is not affected. Answers at once with the new settings and
    `ETag`; 503 (`unavailable`) when the file cannot be written.

    Args:
        if_match (str):
        body (SettingsUpdate): `PUT /settings`: the whole `schedule` and `hooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SettingsView
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed
