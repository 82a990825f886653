from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.import_outcome import ImportOutcome
from ...models.import_request import ImportRequest
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: ImportRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/backup-sets/import",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ImportOutcome | Problem | None:
    if response.status_code == 200:
        response_200 = ImportOutcome.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = ImportOutcome.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[ImportOutcome | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ImportRequest,
) -> Response[ImportOutcome | Problem]:
    """Import a backup folder

     Registers a folder retrieved from an external medium (a tape, a copy) as a component's
    folder of its backup set (admin), so that the set can be listed, verified and restored.
    The folder is read, never moved or changed: its `readme.txt` must name the component and
    says which backup it holds; it must not be one of the component's slots (those are found
    anyway). 201 for a new registration, 200 when the folder was already registered; either way
    with the set as it is now. 422 (`validation_failed`, `errors` naming `component` or
    `folder`) when the folder cannot be registered; 503 (`unavailable`) when the registration
    cannot be saved.

    Args:
        body (ImportRequest): A folder retrieved from an external medium, to be registered as part
            of its backup set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ImportOutcome | Problem]
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
    body: ImportRequest,
) -> ImportOutcome | Problem | None:
    """Import a backup folder

     Registers a folder retrieved from an external medium (a tape, a copy) as a component's
    folder of its backup set (admin), so that the set can be listed, verified and restored.
    The folder is read, never moved or changed: its `readme.txt` must name the component and
    says which backup it holds; it must not be one of the component's slots (those are found
    anyway). 201 for a new registration, 200 when the folder was already registered; either way
    with the set as it is now. 422 (`validation_failed`, `errors` naming `component` or
    `folder`) when the folder cannot be registered; 503 (`unavailable`) when the registration
    cannot be saved.

    Args:
        body (ImportRequest): A folder retrieved from an external medium, to be registered as part
            of its backup set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ImportOutcome | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ImportRequest,
) -> Response[ImportOutcome | Problem]:
    """Import a backup folder

     Registers a folder retrieved from an external medium (a tape, a copy) as a component's
    folder of its backup set (admin), so that the set can be listed, verified and restored.
    The folder is read, never moved or changed: its `readme.txt` must name the component and
    says which backup it holds; it must not be one of the component's slots (those are found
    anyway). 201 for a new registration, 200 when the folder was already registered; either way
    with the set as it is now. 422 (`validation_failed`, `errors` naming `component` or
    `folder`) when the folder cannot be registered; 503 (`unavailable`) when the registration
    cannot be saved.

    Args:
        body (ImportRequest): A folder retrieved from an external medium, to be registered as part
            of its backup set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ImportOutcome | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ImportRequest,
) -> ImportOutcome | Problem | None:
    """Import a backup folder

     Registers a folder retrieved from an external medium (a tape, a copy) as a component's
    folder of its backup set (admin), so that the set can be listed, verified and restored.
    The folder is read, never moved or changed: its `readme.txt` must name the component and
    says which backup it holds; it must not be one of the component's slots (those are found
    anyway). 201 for a new registration, 200 when the folder was already registered; either way
    with the set as it is now. 422 (`validation_failed`, `errors` naming `component` or
    `folder`) when the folder cannot be registered; 503 (`unavailable`) when the registration
    cannot be saved.

    Args:
        body (ImportRequest): A folder retrieved from an external medium, to be registered as part
            of its backup set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ImportOutcome | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
