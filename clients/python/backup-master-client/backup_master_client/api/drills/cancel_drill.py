from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.drill_record import DrillRecord
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/drills/{id}/cancel".format(
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DrillRecord | Problem | None:
    if response.status_code == 202:
        response_202 = DrillRecord.from_dict(response.json())

        return response_202

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

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DrillRecord | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[DrillRecord | Problem]:
    """Cancel a restore drill

     Asks a running drill to stop (operator) and answers at once, 202 with the record as it is
    now. No further component is restored and no further probe is started; a probe that runs
    is killed with its process group (on an agent too); a component being restored finishes
    first. Its scratch is removed as at any end (unless
    `keep_scratch`), and it ends `cancelled`; poll `GET /drills/{id}`. 409 (`drill_not_running`)
    once it has ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillRecord | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
) -> DrillRecord | Problem | None:
    """Cancel a restore drill

     Asks a running drill to stop (operator) and answers at once, 202 with the record as it is
    now. No further component is restored and no further probe is started; a probe that runs
    is killed with its process group (on an agent too); a component being restored finishes
    first. Its scratch is removed as at any end (unless
    `keep_scratch`), and it ends `cancelled`; poll `GET /drills/{id}`. 409 (`drill_not_running`)
    once it has ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillRecord | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[DrillRecord | Problem]:
    """Cancel a restore drill

     Asks a running drill to stop (operator) and answers at once, 202 with the record as it is
    now. No further component is restored and no further probe is started; a probe that runs
    is killed with its process group (on an agent too); a component being restored finishes
    first. Its scratch is removed as at any end (unless
    `keep_scratch`), and it ends `cancelled`; poll `GET /drills/{id}`. 409 (`drill_not_running`)
    once it has ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillRecord | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
) -> DrillRecord | Problem | None:
    """Cancel a restore drill

     Asks a running drill to stop (operator) and answers at once, 202 with the record as it is
    now. No further component is restored and no further probe is started; a probe that runs
    is killed with its process group (on an agent too); a component being restored finishes
    first. Its scratch is removed as at any end (unless
    `keep_scratch`), and it ends `cancelled`; poll `GET /drills/{id}`. 409 (`drill_not_running`)
    once it has ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillRecord | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
        )
    ).parsed
