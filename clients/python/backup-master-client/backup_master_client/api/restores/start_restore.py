from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.restore_record import RestoreRecord
from ...models.restore_request import RestoreRequest
from ...types import Response


def _get_kwargs(
    *,
    body: RestoreRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/restores",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | RestoreRecord | None:
    if response.status_code == 200:
        response_200 = RestoreRecord.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = RestoreRecord.from_dict(response.json())

        return response_202

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | RestoreRecord]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: RestoreRequest,
) -> Response[Problem | RestoreRecord]:
    """Restore a backup set (or plan one)

     Restores a backup set into the components' homes (admin). Checked before anything changes,
    while the request waits (a few seconds to minutes: the folders to restore are verified
    byte for byte): the set is on disk (404 `set_not_found`), has a folder for every component
    to restore (422 `set_incomplete`), their backups succeeded (422 `set_failed`), the folders
    verify against their `SHA256SUMS` (422 `set_not_verified`), every request field is valid
    (422 `validation_failed`), no backup or restore runs (409 `job_running`), every home can be
    worked on (409 `home_not_restorable`) and every agent answers (409 `agent_unreachable`, 422
    `agent_refused`). A refused restore changes nothing.

    `dry_run: true` stops there and answers 200 with the plan (status `planned`): every path
    that would be moved aside, copied and edited; nothing changes. Otherwise the restore
    answers 202 with the record (status `running`, the plan) and runs in the background:
    every item about to be replaced is first moved to `<home>/.pre-restore-<restore id>/`, then
    the backup is copied out (never moved or linked); any failure puts every component back.
    Poll `GET /restores/{id}` until `status` is not `running`. `components` restores only some
    components; `source_folders` takes a component's folder from an external medium instead of
    its slots; `from_target` takes the whole set from a replication target's bucket (downloaded
    into the state dir and checked hash by hash before anything else: it works with no local
    backup left; 404 `set_not_found` when the set is not on the bucket, 409
    `replication_target_failed` when the bucket cannot be read). Backups wait while a restore
    runs.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestoreRecord]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: RestoreRequest,
) -> Problem | RestoreRecord | None:
    """Restore a backup set (or plan one)

     Restores a backup set into the components' homes (admin). Checked before anything changes,
    while the request waits (a few seconds to minutes: the folders to restore are verified
    byte for byte): the set is on disk (404 `set_not_found`), has a folder for every component
    to restore (422 `set_incomplete`), their backups succeeded (422 `set_failed`), the folders
    verify against their `SHA256SUMS` (422 `set_not_verified`), every request field is valid
    (422 `validation_failed`), no backup or restore runs (409 `job_running`), every home can be
    worked on (409 `home_not_restorable`) and every agent answers (409 `agent_unreachable`, 422
    `agent_refused`). A refused restore changes nothing.

    `dry_run: true` stops there and answers 200 with the plan (status `planned`): every path
    that would be moved aside, copied and edited; nothing changes. Otherwise the restore
    answers 202 with the record (status `running`, the plan) and runs in the background:
    every item about to be replaced is first moved to `<home>/.pre-restore-<restore id>/`, then
    the backup is copied out (never moved or linked); any failure puts every component back.
    Poll `GET /restores/{id}` until `status` is not `running`. `components` restores only some
    components; `source_folders` takes a component's folder from an external medium instead of
    its slots; `from_target` takes the whole set from a replication target's bucket (downloaded
    into the state dir and checked hash by hash before anything else: it works with no local
    backup left; 404 `set_not_found` when the set is not on the bucket, 409
    `replication_target_failed` when the bucket cannot be read). Backups wait while a restore
    runs.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestoreRecord
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: RestoreRequest,
) -> Response[Problem | RestoreRecord]:
    """Restore a backup set (or plan one)

     Restores a backup set into the components' homes (admin). Checked before anything changes,
    while the request waits (a few seconds to minutes: the folders to restore are verified
    byte for byte): the set is on disk (404 `set_not_found`), has a folder for every component
    to restore (422 `set_incomplete`), their backups succeeded (422 `set_failed`), the folders
    verify against their `SHA256SUMS` (422 `set_not_verified`), every request field is valid
    (422 `validation_failed`), no backup or restore runs (409 `job_running`), every home can be
    worked on (409 `home_not_restorable`) and every agent answers (409 `agent_unreachable`, 422
    `agent_refused`). A refused restore changes nothing.

    `dry_run: true` stops there and answers 200 with the plan (status `planned`): every path
    that would be moved aside, copied and edited; nothing changes. Otherwise the restore
    answers 202 with the record (status `running`, the plan) and runs in the background:
    every item about to be replaced is first moved to `<home>/.pre-restore-<restore id>/`, then
    the backup is copied out (never moved or linked); any failure puts every component back.
    Poll `GET /restores/{id}` until `status` is not `running`. `components` restores only some
    components; `source_folders` takes a component's folder from an external medium instead of
    its slots; `from_target` takes the whole set from a replication target's bucket (downloaded
    into the state dir and checked hash by hash before anything else: it works with no local
    backup left; 404 `set_not_found` when the set is not on the bucket, 409
    `replication_target_failed` when the bucket cannot be read). Backups wait while a restore
    runs.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestoreRecord]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: RestoreRequest,
) -> Problem | RestoreRecord | None:
    """Restore a backup set (or plan one)

     Restores a backup set into the components' homes (admin). Checked before anything changes,
    while the request waits (a few seconds to minutes: the folders to restore are verified
    byte for byte): the set is on disk (404 `set_not_found`), has a folder for every component
    to restore (422 `set_incomplete`), their backups succeeded (422 `set_failed`), the folders
    verify against their `SHA256SUMS` (422 `set_not_verified`), every request field is valid
    (422 `validation_failed`), no backup or restore runs (409 `job_running`), every home can be
    worked on (409 `home_not_restorable`) and every agent answers (409 `agent_unreachable`, 422
    `agent_refused`). A refused restore changes nothing.

    `dry_run: true` stops there and answers 200 with the plan (status `planned`): every path
    that would be moved aside, copied and edited; nothing changes. Otherwise the restore
    answers 202 with the record (status `running`, the plan) and runs in the background:
    every item about to be replaced is first moved to `<home>/.pre-restore-<restore id>/`, then
    the backup is copied out (never moved or linked); any failure puts every component back.
    Poll `GET /restores/{id}` until `status` is not `running`. `components` restores only some
    components; `source_folders` takes a component's folder from an external medium instead of
    its slots; `from_target` takes the whole set from a replication target's bucket (downloaded
    into the state dir and checked hash by hash before anything else: it works with no local
    backup left; 404 `set_not_found` when the set is not on the bucket, 409
    `replication_target_failed` when the bucket cannot be read). Backups wait while a restore
    runs.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestoreRecord
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
