from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.remote_verify_request import RemoteVerifyRequest
from ...models.replication_record import ReplicationRecord
from ...types import Response


def _get_kwargs(
    name: str,
    id: str,
    *,
    body: RemoteVerifyRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/replication-targets/{name}/sets/{id}/verify".format(
            name=quote(str(name), safe=""),
            id=quote(str(id), safe=""),
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
    id: str,
    *,
    client: AuthenticatedClient,
    body: RemoteVerifyRequest,
) -> Response[Problem | ReplicationRecord]:
    """Verify a set on a target's bucket

     Starts checking set `{id}` on target `{name}`'s bucket (operator), a job of kind `verify`:
    answers at once, 202 with the record and its `Location` (`/replications/{id}`); poll it
    until `status` is not `running`. Quick (`deep: false`): every blob the set's manifest
    references exists with the right size (one listing). Deep: every blob is also downloaded
    and hashed. The record ends `succeeded` when everything is sound, else `failed` with
    `problems` naming each missing or damaged blob and a file of the set that uses it. Changes
    nothing, locally or on the bucket; takes no job lock. A set that is not on the bucket ends
    `failed` saying so.

    Args:
        name (str):
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        body (RemoteVerifyRequest): The body of `POST /replication-
            targets/{name}/sets/{id}/verify`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationRecord]
    """

    kwargs = _get_kwargs(
        name=name,
        id=id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    id: str,
    *,
    client: AuthenticatedClient,
    body: RemoteVerifyRequest,
) -> Problem | ReplicationRecord | None:
    """Verify a set on a target's bucket

     Starts checking set `{id}` on target `{name}`'s bucket (operator), a job of kind `verify`:
    answers at once, 202 with the record and its `Location` (`/replications/{id}`); poll it
    until `status` is not `running`. Quick (`deep: false`): every blob the set's manifest
    references exists with the right size (one listing). Deep: every blob is also downloaded
    and hashed. The record ends `succeeded` when everything is sound, else `failed` with
    `problems` naming each missing or damaged blob and a file of the set that uses it. Changes
    nothing, locally or on the bucket; takes no job lock. A set that is not on the bucket ends
    `failed` saying so.

    Args:
        name (str):
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        body (RemoteVerifyRequest): The body of `POST /replication-
            targets/{name}/sets/{id}/verify`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationRecord
    """

    return sync_detailed(
        name=name,
        id=id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    name: str,
    id: str,
    *,
    client: AuthenticatedClient,
    body: RemoteVerifyRequest,
) -> Response[Problem | ReplicationRecord]:
    """Verify a set on a target's bucket

     Starts checking set `{id}` on target `{name}`'s bucket (operator), a job of kind `verify`:
    answers at once, 202 with the record and its `Location` (`/replications/{id}`); poll it
    until `status` is not `running`. Quick (`deep: false`): every blob the set's manifest
    references exists with the right size (one listing). Deep: every blob is also downloaded
    and hashed. The record ends `succeeded` when everything is sound, else `failed` with
    `problems` naming each missing or damaged blob and a file of the set that uses it. Changes
    nothing, locally or on the bucket; takes no job lock. A set that is not on the bucket ends
    `failed` saying so.

    Args:
        name (str):
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        body (RemoteVerifyRequest): The body of `POST /replication-
            targets/{name}/sets/{id}/verify`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationRecord]
    """

    kwargs = _get_kwargs(
        name=name,
        id=id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    id: str,
    *,
    client: AuthenticatedClient,
    body: RemoteVerifyRequest,
) -> Problem | ReplicationRecord | None:
    """Verify a set on a target's bucket

     Starts checking set `{id}` on target `{name}`'s bucket (operator), a job of kind `verify`:
    answers at once, 202 with the record and its `Location` (`/replications/{id}`); poll it
    until `status` is not `running`. Quick (`deep: false`): every blob the set's manifest
    references exists with the right size (one listing). Deep: every blob is also downloaded
    and hashed. The record ends `succeeded` when everything is sound, else `failed` with
    `problems` naming each missing or damaged blob and a file of the set that uses it. Changes
    nothing, locally or on the bucket; takes no job lock. A set that is not on the bucket ends
    `failed` saying so.

    Args:
        name (str):
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        body (RemoteVerifyRequest): The body of `POST /replication-
            targets/{name}/sets/{id}/verify`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationRecord
    """

    return (
        await asyncio_detailed(
            name=name,
            id=id,
            client=client,
            body=body,
        )
    ).parsed
