from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.hook_process import HookProcess
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/v1/hook-processes/{id}".format(
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> HookProcess | Problem | None:
    if response.status_code == 200:
        response_200 = HookProcess.from_dict(response.json())

        return response_200

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
) -> Response[HookProcess | Problem]:
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
) -> Response[HookProcess | Problem]:
    """Terminate a hook process

     Terminates a running process and its whole process group (admin): SIGTERM, then SIGKILL
    after a grace period. Answers once the group is gone (a few seconds at most), with the
    process (status `killed`). 409 (`hook_not_running`) when it has already ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HookProcess | Problem]
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
) -> HookProcess | Problem | None:
    """Terminate a hook process

     Terminates a running process and its whole process group (admin): SIGTERM, then SIGKILL
    after a grace period. Answers once the group is gone (a few seconds at most), with the
    process (status `killed`). 409 (`hook_not_running`) when it has already ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HookProcess | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[HookProcess | Problem]:
    """Terminate a hook process

     Terminates a running process and its whole process group (admin): SIGTERM, then SIGKILL
    after a grace period. Answers once the group is gone (a few seconds at most), with the
    process (status `killed`). 409 (`hook_not_running`) when it has already ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HookProcess | Problem]
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
) -> HookProcess | Problem | None:
    """Terminate a hook process

     Terminates a running process and its whole process group (admin): SIGTERM, then SIGKILL
    after a grace period. Answers once the group is gone (a few seconds at most), with the
    process (status `killed`). 409 (`hook_not_running`) when it has already ended.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HookProcess | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
        )
    ).parsed
