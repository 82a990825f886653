from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.backup_set_list import BackupSetList
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    complete: bool | Unset = UNSET,
    successful: bool | Unset = UNSET,
    latest: bool | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["complete"] = complete

    params["successful"] = successful

    params["latest"] = latest

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/backup-sets",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BackupSetList | Problem | None:
    if response.status_code == 200:
        response_200 = BackupSetList.from_dict(response.json())

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
) -> Response[BackupSetList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    complete: bool | Unset = UNSET,
    successful: bool | Unset = UNSET,
    latest: bool | Unset = UNSET,
) -> Response[BackupSetList | Problem]:
    """List backup sets on disk

     The backup sets found on disk now, newest first: every slot's `readme.txt` of every
    component (a component on an agent is asked through its agent), plus the imported folders,
    grouped by backup ID; each set says whether it is `complete` (a folder for every component)
    and `successful`. Works without the master's job records (after a loss of its state).
    `?successful=true&latest=true` gives the set a restore should use. Slot folders without a
    usable `readme.txt` are listed in `unidentified`, components whose agent did not answer in
    `problems`. Reads every readme, so it takes a moment; changes nothing; any role.

    Args:
        complete (bool | Unset):
        successful (bool | Unset):
        latest (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BackupSetList | Problem]
    """

    kwargs = _get_kwargs(
        complete=complete,
        successful=successful,
        latest=latest,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    complete: bool | Unset = UNSET,
    successful: bool | Unset = UNSET,
    latest: bool | Unset = UNSET,
) -> BackupSetList | Problem | None:
    """List backup sets on disk

     The backup sets found on disk now, newest first: every slot's `readme.txt` of every
    component (a component on an agent is asked through its agent), plus the imported folders,
    grouped by backup ID; each set says whether it is `complete` (a folder for every component)
    and `successful`. Works without the master's job records (after a loss of its state).
    `?successful=true&latest=true` gives the set a restore should use. Slot folders without a
    usable `readme.txt` are listed in `unidentified`, components whose agent did not answer in
    `problems`. Reads every readme, so it takes a moment; changes nothing; any role.

    Args:
        complete (bool | Unset):
        successful (bool | Unset):
        latest (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BackupSetList | Problem
    """

    return sync_detailed(
        client=client,
        complete=complete,
        successful=successful,
        latest=latest,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    complete: bool | Unset = UNSET,
    successful: bool | Unset = UNSET,
    latest: bool | Unset = UNSET,
) -> Response[BackupSetList | Problem]:
    """List backup sets on disk

     The backup sets found on disk now, newest first: every slot's `readme.txt` of every
    component (a component on an agent is asked through its agent), plus the imported folders,
    grouped by backup ID; each set says whether it is `complete` (a folder for every component)
    and `successful`. Works without the master's job records (after a loss of its state).
    `?successful=true&latest=true` gives the set a restore should use. Slot folders without a
    usable `readme.txt` are listed in `unidentified`, components whose agent did not answer in
    `problems`. Reads every readme, so it takes a moment; changes nothing; any role.

    Args:
        complete (bool | Unset):
        successful (bool | Unset):
        latest (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BackupSetList | Problem]
    """

    kwargs = _get_kwargs(
        complete=complete,
        successful=successful,
        latest=latest,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    complete: bool | Unset = UNSET,
    successful: bool | Unset = UNSET,
    latest: bool | Unset = UNSET,
) -> BackupSetList | Problem | None:
    """List backup sets on disk

     The backup sets found on disk now, newest first: every slot's `readme.txt` of every
    component (a component on an agent is asked through its agent), plus the imported folders,
    grouped by backup ID; each set says whether it is `complete` (a folder for every component)
    and `successful`. Works without the master's job records (after a loss of its state).
    `?successful=true&latest=true` gives the set a restore should use. Slot folders without a
    usable `readme.txt` are listed in `unidentified`, components whose agent did not answer in
    `problems`. Reads every readme, so it takes a moment; changes nothing; any role.

    Args:
        complete (bool | Unset):
        successful (bool | Unset):
        latest (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BackupSetList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            complete=complete,
            successful=successful,
            latest=latest,
        )
    ).parsed
