from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.restore_record import RestoreRecord
from ...types import Response


def _get_kwargs(
    id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/restores/{id}/undo".format(
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | RestoreRecord | None:
    if response.status_code == 202:
        response_202 = RestoreRecord.from_dict(response.json())

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
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Problem | RestoreRecord]:
    """Undo a restore

     Puts every component of a succeeded restore back exactly as it was before it (admin):
    content, modes, modification times, symbolic links and empty folders, copied back from the
    restore's kept safety folders. The undo is a restore job of its own (202 + `Location`, poll
    `GET /restores/{id}` of the undo): its record has `undo_of` naming the restore undone; it
    moves what the restore put into the homes into its own safety folder first, and any failure
    (or a crash) puts everything back. Once it succeeded, the undone restore's safety copies are
    discarded, and the undo itself can be undone. Refused (409, nothing changed) while a job
    runs, for a dry run, a restore that did not succeed, once a later restore or undo changed
    one of its components, or when its safety copy was discarded. A remote component is undone
    by its agent, from the safety folder it kept on its own machine.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestoreRecord]
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
) -> Problem | RestoreRecord | None:
    """Undo a restore

     Puts every component of a succeeded restore back exactly as it was before it (admin):
    content, modes, modification times, symbolic links and empty folders, copied back from the
    restore's kept safety folders. The undo is a restore job of its own (202 + `Location`, poll
    `GET /restores/{id}` of the undo): its record has `undo_of` naming the restore undone; it
    moves what the restore put into the homes into its own safety folder first, and any failure
    (or a crash) puts everything back. Once it succeeded, the undone restore's safety copies are
    discarded, and the undo itself can be undone. Refused (409, nothing changed) while a job
    runs, for a dry run, a restore that did not succeed, once a later restore or undo changed
    one of its components, or when its safety copy was discarded. A remote component is undone
    by its agent, from the safety folder it kept on its own machine.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestoreRecord
    """

    return sync_detailed(
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Problem | RestoreRecord]:
    """Undo a restore

     Puts every component of a succeeded restore back exactly as it was before it (admin):
    content, modes, modification times, symbolic links and empty folders, copied back from the
    restore's kept safety folders. The undo is a restore job of its own (202 + `Location`, poll
    `GET /restores/{id}` of the undo): its record has `undo_of` naming the restore undone; it
    moves what the restore put into the homes into its own safety folder first, and any failure
    (or a crash) puts everything back. Once it succeeded, the undone restore's safety copies are
    discarded, and the undo itself can be undone. Refused (409, nothing changed) while a job
    runs, for a dry run, a restore that did not succeed, once a later restore or undo changed
    one of its components, or when its safety copy was discarded. A remote component is undone
    by its agent, from the safety folder it kept on its own machine.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestoreRecord]
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
) -> Problem | RestoreRecord | None:
    """Undo a restore

     Puts every component of a succeeded restore back exactly as it was before it (admin):
    content, modes, modification times, symbolic links and empty folders, copied back from the
    restore's kept safety folders. The undo is a restore job of its own (202 + `Location`, poll
    `GET /restores/{id}` of the undo): its record has `undo_of` naming the restore undone; it
    moves what the restore put into the homes into its own safety folder first, and any failure
    (or a crash) puts everything back. Once it succeeded, the undone restore's safety copies are
    discarded, and the undo itself can be undone. Refused (409, nothing changed) while a job
    runs, for a dry run, a restore that did not succeed, once a later restore or undo changed
    one of its components, or when its safety copy was discarded. A remote component is undone
    by its agent, from the safety folder it kept on its own machine.

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestoreRecord
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
        )
    ).parsed
