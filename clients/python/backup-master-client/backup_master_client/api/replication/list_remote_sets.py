from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.remote_set import RemoteSet
from ...types import Response


def _get_kwargs(
    name: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/replication-targets/{name}/sets".format(
            name=quote(str(name), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[RemoteSet] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = RemoteSet.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | list[RemoteSet]]:
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
) -> Response[Problem | list[RemoteSet]]:
    """The sets on a target's bucket

     The backup sets whose manifest is on target `{name}`'s bucket, newest first: the sets a
    restore can take from there (also on a fresh server whose disks hold no backup). Asks the
    store (one listing of `sets/`); 409 (`replication_target_failed`) naming the target when it
    cannot be reached, refuses the credentials or has no such bucket. Encrypted sets are listed
    from their key names alone (`encrypted: true`), without the target's key. Any role.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[RemoteSet]]
    """

    kwargs = _get_kwargs(
        name=name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient,
) -> Problem | list[RemoteSet] | None:
    """The sets on a target's bucket

     The backup sets whose manifest is on target `{name}`'s bucket, newest first: the sets a
    restore can take from there (also on a fresh server whose disks hold no backup). Asks the
    store (one listing of `sets/`); 409 (`replication_target_failed`) naming the target when it
    cannot be reached, refuses the credentials or has no such bucket. Encrypted sets are listed
    from their key names alone (`encrypted: true`), without the target's key. Any role.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[RemoteSet]
    """

    return sync_detailed(
        name=name,
        client=client,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
) -> Response[Problem | list[RemoteSet]]:
    """The sets on a target's bucket

     The backup sets whose manifest is on target `{name}`'s bucket, newest first: the sets a
    restore can take from there (also on a fresh server whose disks hold no backup). Asks the
    store (one listing of `sets/`); 409 (`replication_target_failed`) naming the target when it
    cannot be reached, refuses the credentials or has no such bucket. Encrypted sets are listed
    from their key names alone (`encrypted: true`), without the target's key. Any role.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[RemoteSet]]
    """

    kwargs = _get_kwargs(
        name=name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient,
) -> Problem | list[RemoteSet] | None:
    """The sets on a target's bucket

     The backup sets whose manifest is on target `{name}`'s bucket, newest first: the sets a
    restore can take from there (also on a fresh server whose disks hold no backup). Asks the
    store (one listing of `sets/`); 409 (`replication_target_failed`) naming the target when it
    cannot be reached, refuses the credentials or has no such bucket. Encrypted sets are listed
    from their key names alone (`encrypted: true`), without the target's key. Any role.

    Args:
        name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[RemoteSet]
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
        )
    ).parsed
