from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.backup_record import BackupRecord
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/backups",
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> BackupRecord | Problem | None:
    if response.status_code == 202:
        response_202 = BackupRecord.from_dict(response.json())

        return response_202

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BackupRecord | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[BackupRecord | Problem]:
    """Start a backup

     Starts a backup of every component now (operator) and answers at once, 202 with the record
    (status `running`) and its `Location`. The backup copies each component into a staging
    folder beside its backup folder, then, only if every component prepared, rotates the slots
    of all of them; a failure anywhere changes no slot. It runs for seconds to hours: follow it
    with `GET /backups/{id}/events` or poll `GET /backups/{id}` until `status` is not `running`;
    the post-backup hook starts when it ends. 409 when it cannot start: another job runs
    (`job_running`, `running_id` names it), a backup keeps staging folders for an operator
    (`staging_kept`), a restored component has not started since its restore
    (`restore_pending`), or no component is configured (`no_components`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BackupRecord | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> BackupRecord | Problem | None:
    """Start a backup

     Starts a backup of every component now (operator) and answers at once, 202 with the record
    (status `running`) and its `Location`. The backup copies each component into a staging
    folder beside its backup folder, then, only if every component prepared, rotates the slots
    of all of them; a failure anywhere changes no slot. It runs for seconds to hours: follow it
    with `GET /backups/{id}/events` or poll `GET /backups/{id}` until `status` is not `running`;
    the post-backup hook starts when it ends. 409 when it cannot start: another job runs
    (`job_running`, `running_id` names it), a backup keeps staging folders for an operator
    (`staging_kept`), a restored component has not started since its restore
    (`restore_pending`), or no component is configured (`no_components`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BackupRecord | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[BackupRecord | Problem]:
    """Start a backup

     Starts a backup of every component now (operator) and answers at once, 202 with the record
    (status `running`) and its `Location`. The backup copies each component into a staging
    folder beside its backup folder, then, only if every component prepared, rotates the slots
    of all of them; a failure anywhere changes no slot. It runs for seconds to hours: follow it
    with `GET /backups/{id}/events` or poll `GET /backups/{id}` until `status` is not `running`;
    the post-backup hook starts when it ends. 409 when it cannot start: another job runs
    (`job_running`, `running_id` names it), a backup keeps staging folders for an operator
    (`staging_kept`), a restored component has not started since its restore
    (`restore_pending`), or no component is configured (`no_components`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BackupRecord | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> BackupRecord | Problem | None:
    """Start a backup

     Starts a backup of every component now (operator) and answers at once, 202 with the record
    (status `running`) and its `Location`. The backup copies each component into a staging
    folder beside its backup folder, then, only if every component prepared, rotates the slots
    of all of them; a failure anywhere changes no slot. It runs for seconds to hours: follow it
    with `GET /backups/{id}/events` or poll `GET /backups/{id}` until `status` is not `running`;
    the post-backup hook starts when it ends. 409 when it cannot start: another job runs
    (`job_running`, `running_id` names it), a backup keeps staging folders for an operator
    (`staging_kept`), a restored component has not started since its restore
    (`restore_pending`), or no component is configured (`no_components`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BackupRecord | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
