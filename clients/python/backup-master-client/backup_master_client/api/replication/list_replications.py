from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.replication_list import ReplicationList
from ...models.replication_status import ReplicationStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    status: ReplicationStatus | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/replications",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ReplicationList | None:
    if response.status_code == 200:
        response_200 = ReplicationList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | ReplicationList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    status: ReplicationStatus | Unset = UNSET,
) -> Response[Problem | ReplicationList]:
    """List replications

     Replications, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor`
    for the next page, `status` to see only those that ended so. Any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (ReplicationStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationList]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    status: ReplicationStatus | Unset = UNSET,
) -> Problem | ReplicationList | None:
    """List replications

     Replications, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor`
    for the next page, `status` to see only those that ended so. Any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (ReplicationStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationList
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        status=status,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    status: ReplicationStatus | Unset = UNSET,
) -> Response[Problem | ReplicationList]:
    """List replications

     Replications, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor`
    for the next page, `status` to see only those that ended so. Any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (ReplicationStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplicationList]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    status: ReplicationStatus | Unset = UNSET,
) -> Problem | ReplicationList | None:
    """List replications

     Replications, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor`
    for the next page, `status` to see only those that ended so. Any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (ReplicationStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplicationList
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            status=status,
        )
    ).parsed
