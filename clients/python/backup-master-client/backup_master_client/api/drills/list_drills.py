from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.drill_list import DrillList
from ...models.drill_status import DrillStatus
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    status: DrillStatus | Unset = UNSET,
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
        "url": "/api/v1/drills",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DrillList | Problem | None:
    if response.status_code == 200:
        response_200 = DrillList.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[DrillList | Problem]:
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
    status: DrillStatus | Unset = UNSET,
) -> Response[DrillList | Problem]:
    """List restore drills

     Drills, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor` for the
    next page, `status` to see only drills that ended so. Changes nothing; any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (DrillStatus | Unset): A drill's state: `running`, then `passed`, `failed`,
            `cancelled` (an operator stopped it)
            or (the master died while it ran) `interrupted`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillList | Problem]
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
    status: DrillStatus | Unset = UNSET,
) -> DrillList | Problem | None:
    """List restore drills

     Drills, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor` for the
    next page, `status` to see only drills that ended so. Changes nothing; any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (DrillStatus | Unset): A drill's state: `running`, then `passed`, `failed`,
            `cancelled` (an operator stopped it)
            or (the master died while it ran) `interrupted`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillList | Problem
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
    status: DrillStatus | Unset = UNSET,
) -> Response[DrillList | Problem]:
    """List restore drills

     Drills, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor` for the
    next page, `status` to see only drills that ended so. Changes nothing; any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (DrillStatus | Unset): A drill's state: `running`, then `passed`, `failed`,
            `cancelled` (an operator stopped it)
            or (the master died while it ran) `interrupted`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillList | Problem]
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
    status: DrillStatus | Unset = UNSET,
) -> DrillList | Problem | None:
    """List restore drills

     Drills, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor` for the
    next page, `status` to see only drills that ended so. Changes nothing; any role.

    Args:
        limit (int | Unset):
        cursor (str | Unset): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting
            with `.`, without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        status (DrillStatus | Unset): A drill's state: `running`, then `passed`, `failed`,
            `cancelled` (an operator stopped it)
            or (the master died while it ran) `interrupted`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            status=status,
        )
    ).parsed
