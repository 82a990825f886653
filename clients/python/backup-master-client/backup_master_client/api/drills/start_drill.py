from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.drill_record import DrillRecord
from ...models.drill_request import DrillRequest
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: DrillRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/drills",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DrillRecord | Problem | None:
    if response.status_code == 202:
        response_202 = DrillRecord.from_dict(response.json())

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
) -> Response[DrillRecord | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: DrillRequest,
) -> Response[DrillRecord | Problem]:
    """Start a restore drill

     Proves a backup set restores (operator): every chosen component is restored into a scratch
    folder `<drill_root>/<drill ID>/<component>` exactly as a restore would restore it (the same
    plan and per-profile rules; the homes, slots and imports are never changed), every restored
    file is hashed against the set's `SHA256SUMS`, and the component's `drill_probe_command`
    runs with `DRILL_HOME`, `BACKUP_ID` and `COMPONENT` set (exit 0 passes). The scratch is
    removed at the end unless `keep_scratch`. Default set: the newest successful complete one;
    default components: every configured one; a remote component is drilled on its agent's
    machine, under the agent's drill root, and its probe runs there only when the agent's
    config says `run_commands = true` for it. Answers
    202 with the record (`running`) and `Location`; poll `GET /drills/{id}` or follow
    `/drills/{id}/events` until `status` is `passed` or `failed`. A drill never runs beside a
    backup, a restore or another drill (409).

    Args:
        body (DrillRequest): `POST /drills`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillRecord | Problem]
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
    body: DrillRequest,
) -> DrillRecord | Problem | None:
    """Start a restore drill

     Proves a backup set restores (operator): every chosen component is restored into a scratch
    folder `<drill_root>/<drill ID>/<component>` exactly as a restore would restore it (the same
    plan and per-profile rules; the homes, slots and imports are never changed), every restored
    file is hashed against the set's `SHA256SUMS`, and the component's `drill_probe_command`
    runs with `DRILL_HOME`, `BACKUP_ID` and `COMPONENT` set (exit 0 passes). The scratch is
    removed at the end unless `keep_scratch`. Default set: the newest successful complete one;
    default components: every configured one; a remote component is drilled on its agent's
    machine, under the agent's drill root, and its probe runs there only when the agent's
    config says `run_commands = true` for it. Answers
    202 with the record (`running`) and `Location`; poll `GET /drills/{id}` or follow
    `/drills/{id}/events` until `status` is `passed` or `failed`. A drill never runs beside a
    backup, a restore or another drill (409).

    Args:
        body (DrillRequest): `POST /drills`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillRecord | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: DrillRequest,
) -> Response[DrillRecord | Problem]:
    """Start a restore drill

     Proves a backup set restores (operator): every chosen component is restored into a scratch
    folder `<drill_root>/<drill ID>/<component>` exactly as a restore would restore it (the same
    plan and per-profile rules; the homes, slots and imports are never changed), every restored
    file is hashed against the set's `SHA256SUMS`, and the component's `drill_probe_command`
    runs with `DRILL_HOME`, `BACKUP_ID` and `COMPONENT` set (exit 0 passes). The scratch is
    removed at the end unless `keep_scratch`. Default set: the newest successful complete one;
    default components: every configured one; a remote component is drilled on its agent's
    machine, under the agent's drill root, and its probe runs there only when the agent's
    config says `run_commands = true` for it. Answers
    202 with the record (`running`) and `Location`; poll `GET /drills/{id}` or follow
    `/drills/{id}/events` until `status` is `passed` or `failed`. A drill never runs beside a
    backup, a restore or another drill (409).

    Args:
        body (DrillRequest): `POST /drills`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DrillRecord | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: DrillRequest,
) -> DrillRecord | Problem | None:
    """Start a restore drill

     Proves a backup set restores (operator): every chosen component is restored into a scratch
    folder `<drill_root>/<drill ID>/<component>` exactly as a restore would restore it (the same
    plan and per-profile rules; the homes, slots and imports are never changed), every restored
    file is hashed against the set's `SHA256SUMS`, and the component's `drill_probe_command`
    runs with `DRILL_HOME`, `BACKUP_ID` and `COMPONENT` set (exit 0 passes). The scratch is
    removed at the end unless `keep_scratch`. Default set: the newest successful complete one;
    default components: every configured one; a remote component is drilled on its agent's
    machine, under the agent's drill root, and its probe runs there only when the agent's
    config says `run_commands = true` for it. Answers
    202 with the record (`running`) and `Location`; poll `GET /drills/{id}` or follow
    `/drills/{id}/events` until `status` is `passed` or `failed`. A drill never runs beside a
    backup, a restore or another drill (409).

    Args:
        body (DrillRequest): `POST /drills`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DrillRecord | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
