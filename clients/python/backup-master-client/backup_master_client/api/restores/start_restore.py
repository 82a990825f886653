from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.restore_record import RestoreRecord
from ...models.restore_request import RestoreRequest
from ...types import Response


def _get_kwargs(
    *,
    body: RestoreRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/restores",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | RestoreRecord | None:
    if response.status_code == 200:
        response_200 = RestoreRecord.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = RestoreRecord.from_dict(response.json())

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
    *,
    client: AuthenticatedClient,
    body: RestoreRequest,
) -> Response[Problem | RestoreRecord]:
    """Restores a backup set (admin): checks the set is known, complete and successful for the
    chosen components, makes the plan, verifies exactly the folders to restore, then applies
    the plan in the background. Every item about to be replaced is first moved to
    `<home>/.pre-restore-<restore id>/`; any failure puts every component back. `dry_run`
    only plans and verifies.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestoreRecord]
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
    body: RestoreRequest,
) -> Problem | RestoreRecord | None:
    """Restores a backup set (admin): checks the set is known, complete and successful for the
    chosen components, makes the plan, verifies exactly the folders to restore, then applies
    the plan in the background. Every item about to be replaced is first moved to
    `<home>/.pre-restore-<restore id>/`; any failure puts every component back. `dry_run`
    only plans and verifies.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestoreRecord
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: RestoreRequest,
) -> Response[Problem | RestoreRecord]:
    """Restores a backup set (admin): checks the set is known, complete and successful for the
    chosen components, makes the plan, verifies exactly the folders to restore, then applies
    the plan in the background. Every item about to be replaced is first moved to
    `<home>/.pre-restore-<restore id>/`; any failure puts every component back. `dry_run`
    only plans and verifies.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestoreRecord]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: RestoreRequest,
) -> Problem | RestoreRecord | None:
    """Restores a backup set (admin): checks the set is known, complete and successful for the
    chosen components, makes the plan, verifies exactly the folders to restore, then applies
    the plan in the background. Every item about to be replaced is first moved to
    `<home>/.pre-restore-<restore id>/`; any failure puts every component back. `dry_run`
    only plans and verifies.

    Args:
        body (RestoreRequest): The body of `POST /restores`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestoreRecord
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
