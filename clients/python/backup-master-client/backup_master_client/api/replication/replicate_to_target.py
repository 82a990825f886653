from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.replicate_request import ReplicateRequest
from ...models.replication_record import ReplicationRecord
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: ReplicateRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/replication-targets/{name}/replicate".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ReplicationRecord | None:
    if response.status_code == 202:
        response_202 = ReplicationRecord.from_dict(response.json())

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | ReplicationRecord]:
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
    body: ReplicateRequest,
) -> Response[Problem | ReplicationRecord]:
    """Replicate a set now

     Starts copying backup set `backup_id` (default: the newest complete and successful set) to
    target `{name}` (operator) and answers at once, 202 with the record (status `running`) and
    its `Location`. Only the file contents the bucket lacks are uploaded (`blobs/<2 hex>/<sha256>`,
    keyed by the hashes of the set's `SHA256SUMS`), then the set's manifest
    `sets/<backup id>.json`, last: the set exists remotely exactly when its manifest does.
    Nothing on the bucket is ever overwritten. A set already there is not uploaded again
    (`already_replicated`). A component on an agent is uploaded by its agent (the target's
    settings and keys sent with the call, only over https or to a loopback agent); its counters
    join the record when it is done. The replication holds the job lock: no backup or restore starts
    until it ends. 409 when another job runs (`job_running`) or the set cannot be replicated
    (`set_not_replicable`).

    Args:
        name (str):
        body (ReplicateRequest): The body of `POST /replication-targets/{name}/replicate`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationRecord]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient,
    body: ReplicateRequest,
) -> Problem | ReplicationRecord | None:
    """Replicate a set now

     Starts copying backup set `backup_id` (default: the newest complete and successful set) to
    target `{name}` (operator) and answers at once, 202 with the record (status `running`) and
    its `Location`. Only the file contents the bucket lacks are uploaded (`blobs/<2 hex>/<sha256>`,
    keyed by the hashes of the set's `SHA256SUMS`), then the set's manifest
    `sets/<backup id>.json`, last: the set exists remotely exactly when its manifest does.
    Nothing on the bucket is ever overwritten. A set already there is not uploaded again
    (`already_replicated`). A component on an agent is uploaded by its agent (the target's
    settings and keys sent with the call, only over https or to a loopback agent); its counters
    join the record when it is done. The replication holds the job lock: no backup or restore starts
    until it ends. 409 when another job runs (`job_running`) or the set cannot be replicated
    (`set_not_replicable`).

    Args:
        name (str):
        body (ReplicateRequest): The body of `POST /replication-targets/{name}/replicate`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationRecord
    """

    return sync_detailed(
        name=name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
    body: ReplicateRequest,
) -> Response[Problem | ReplicationRecord]:
    """Replicate a set now

     Starts copying backup set `backup_id` (default: the newest complete and successful set) to
    target `{name}` (operator) and answers at once, 202 with the record (status `running`) and
    its `Location`. Only the file contents the bucket lacks are uploaded (`blobs/<2 hex>/<sha256>`,
    keyed by the hashes of the set's `SHA256SUMS`), then the set's manifest
    `sets/<backup id>.json`, last: the set exists remotely exactly when its manifest does.
    Nothing on the bucket is ever overwritten. A set already there is not uploaded again
    (`already_replicated`). A component on an agent is uploaded by its agent (the target's
    settings and keys sent with the call, only over https or to a loopback agent); its counters
    join the record when it is done. The replication holds the job lock: no backup or restore starts
    until it ends. 409 when another job runs (`job_running`) or the set cannot be replicated
    (`set_not_replicable`).

    Args:
        name (str):
        body (ReplicateRequest): The body of `POST /replication-targets/{name}/replicate`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationRecord]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient,
    body: ReplicateRequest,
) -> Problem | ReplicationRecord | None:
    """Replicate a set now

     Starts copying backup set `backup_id` (default: the newest complete and successful set) to
    target `{name}` (operator) and answers at once, 202 with the record (status `running`) and
    its `Location`. Only the file contents the bucket lacks are uploaded (`blobs/<2 hex>/<sha256>`,
    keyed by the hashes of the set's `SHA256SUMS`), then the set's manifest
    `sets/<backup id>.json`, last: the set exists remotely exactly when its manifest does.
    Nothing on the bucket is ever overwritten. A set already there is not uploaded again
    (`already_replicated`). A component on an agent is uploaded by its agent (the target's
    settings and keys sent with the call, only over https or to a loopback agent); its counters
    join the record when it is done. The replication holds the job lock: no backup or restore starts
    until it ends. 409 when another job runs (`job_running`) or the set cannot be replicated
    (`set_not_replicable`).

    Args:
        name (str):
        body (ReplicateRequest): The body of `POST /replication-targets/{name}/replicate`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationRecord
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            body=body,
        )
    ).parsed
