from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.replication_target_settings import ReplicationTargetSettings
from ...models.replication_target_view import ReplicationTargetView
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: ReplicationTargetSettings,
    if_match: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["If-Match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/replication-targets/{name}".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ReplicationTargetView | None:
    if response.status_code == 200:
        response_200 = ReplicationTargetView.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = ReplicationTargetView.from_dict(response.json())

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
) -> Response[Problem | ReplicationTargetView]:
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
    body: ReplicationTargetSettings,
    if_match: str,
) -> Response[Problem | ReplicationTargetView]:
    """Create or replace a replication target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `endpoint` (http or https), `bucket`
    (must exist), `prefix`, `region` (default `us-east-1`), `path_style`, the key files
    `access_key_file` and `secret_key_file` (both or neither; without them the keys come from
    `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `_SECRET_KEY` in the server's environment),
    `mode` (`after_backup` or `manual`, the default), `concurrency` (1 to 64, default 4),
    `max_bytes_per_second` (0: unlimited), `timeout_seconds` (1 to 3600, default 60), `keep`
    (sets kept on the bucket) with `unreferenced_grace_seconds`, and client-side encryption:
    `encrypt_recipients_file` (age recipients; `decrypt_identity_file` to restore and
    deep-verify) or `encrypt_passphrase_file`, not both. Keys are never accepted in the body,
    only the paths of their files; a file that cannot be read or parsed is refused naming the
    field, never showing its content. Needs `If-Match`: the `ETag` of `GET`, or `*`
    (which also creates): 428 without it, 412 when stale. Refused with 422 naming each field,
    changing nothing. The config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (ReplicationTargetSettings): A replication target's settings, as in the file
            (`[[replication_targets]]`, without `name`)
            and in the API. Credentials are never here: `access_key_file` and `secret_key_file` name
            the
            files holding them; without them they come from the environment,
            `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `BACKUP_MASTER_S3_<NAME>_SECRET_KEY` (the name
            upper-cased, `-` as `_`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationTargetView]
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
    body: ReplicationTargetSettings,
    if_match: str,
) -> Problem | ReplicationTargetView | None:
    """Create or replace a replication target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `endpoint` (http or https), `bucket`
    (must exist), `prefix`, `region` (default `us-east-1`), `path_style`, the key files
    `access_key_file` and `secret_key_file` (both or neither; without them the keys come from
    `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `_SECRET_KEY` in the server's environment),
    `mode` (`after_backup` or `manual`, the default), `concurrency` (1 to 64, default 4),
    `max_bytes_per_second` (0: unlimited), `timeout_seconds` (1 to 3600, default 60), `keep`
    (sets kept on the bucket) with `unreferenced_grace_seconds`, and client-side encryption:
    `encrypt_recipients_file` (age recipients; `decrypt_identity_file` to restore and
    deep-verify) or `encrypt_passphrase_file`, not both. Keys are never accepted in the body,
    only the paths of their files; a file that cannot be read or parsed is refused naming the
    field, never showing its content. Needs `If-Match`: the `ETag` of `GET`, or `*`
    (which also creates): 428 without it, 412 when stale. Refused with 422 naming each field,
    changing nothing. The config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (ReplicationTargetSettings): A replication target's settings, as in the file
            (`[[replication_targets]]`, without `name`)
            and in the API. Credentials are never here: `access_key_file` and `secret_key_file` name
            the
            files holding them; without them they come from the environment,
            `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `BACKUP_MASTER_S3_<NAME>_SECRET_KEY` (the name
            upper-cased, `-` as `_`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationTargetView
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
    body: ReplicationTargetSettings,
    if_match: str,
) -> Response[Problem | ReplicationTargetView]:
    """Create or replace a replication target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `endpoint` (http or https), `bucket`
    (must exist), `prefix`, `region` (default `us-east-1`), `path_style`, the key files
    `access_key_file` and `secret_key_file` (both or neither; without them the keys come from
    `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `_SECRET_KEY` in the server's environment),
    `mode` (`after_backup` or `manual`, the default), `concurrency` (1 to 64, default 4),
    `max_bytes_per_second` (0: unlimited), `timeout_seconds` (1 to 3600, default 60), `keep`
    (sets kept on the bucket) with `unreferenced_grace_seconds`, and client-side encryption:
    `encrypt_recipients_file` (age recipients; `decrypt_identity_file` to restore and
    deep-verify) or `encrypt_passphrase_file`, not both. Keys are never accepted in the body,
    only the paths of their files; a file that cannot be read or parsed is refused naming the
    field, never showing its content. Needs `If-Match`: the `ETag` of `GET`, or `*`
    (which also creates): 428 without it, 412 when stale. Refused with 422 naming each field,
    changing nothing. The config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (ReplicationTargetSettings): A replication target's settings, as in the file
            (`[[replication_targets]]`, without `name`)
            and in the API. Credentials are never here: `access_key_file` and `secret_key_file` name
            the
            files holding them; without them they come from the environment,
            `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `BACKUP_MASTER_S3_<NAME>_SECRET_KEY` (the name
            upper-cased, `-` as `_`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationTargetView]
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
    body: ReplicationTargetSettings,
    if_match: str,
) -> Problem | ReplicationTargetView | None:
    """Create or replace a replication target

     Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `endpoint` (http or https), `bucket`
    (must exist), `prefix`, `region` (default `us-east-1`), `path_style`, the key files
    `access_key_file` and `secret_key_file` (both or neither; without them the keys come from
    `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `_SECRET_KEY` in the server's environment),
    `mode` (`after_backup` or `manual`, the default), `concurrency` (1 to 64, default 4),
    `max_bytes_per_second` (0: unlimited), `timeout_seconds` (1 to 3600, default 60), `keep`
    (sets kept on the bucket) with `unreferenced_grace_seconds`, and client-side encryption:
    `encrypt_recipients_file` (age recipients; `decrypt_identity_file` to restore and
    deep-verify) or `encrypt_passphrase_file`, not both. Keys are never accepted in the body,
    only the paths of their files; a file that cannot be read or parsed is refused naming the
    field, never showing its content. Needs `If-Match`: the `ETag` of `GET`, or `*`
    (which also creates): 428 without it, 412 when stale. Refused with 422 naming each field,
    changing nothing. The config file is written atomically (503 when it cannot be). Admin.

    Args:
        name (str):
        if_match (str):
        body (ReplicationTargetSettings): A replication target's settings, as in the file
            (`[[replication_targets]]`, without `name`)
            and in the API. Credentials are never here: `access_key_file` and `secret_key_file` name
            the
            files holding them; without them they come from the environment,
            `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `BACKUP_MASTER_S3_<NAME>_SECRET_KEY` (the name
            upper-cased, `-` as `_`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationTargetView
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed
