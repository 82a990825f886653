from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.hook_process import HookProcess
from ...models.hook_test import HookTest
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: HookTest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/hook-processes",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> HookProcess | Problem | None:
    if response.status_code == 202:
        response_202 = HookProcess.from_dict(response.json())

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
    *,
    client: AuthenticatedClient,
    body: HookTest,
) -> Response[HookProcess | Problem]:
    """Run a hook as a test

     Runs the configured `on_success` or `on_failure` command now, as a test (admin), with the
    same rules as after a backup (its own process group, `work_folder`, `timeout_seconds`, the
    `BACKUP_*` variables) and `BACKUP_RESULT=test` with the latest backup's ID, report and
    folders. Answers at once, 202 with the process (status `running`, or `failed_to_start` with
    `error`); follow its output with `GET /hook-processes/{id}/output`. 422
    (`validation_failed`) when that hook's command is empty or cannot be split into arguments;
    409 (`work_folder_missing`) when the work folder does not exist.

    Args:
        body (HookTest): `POST /hook-processes`: which configured command to run as a test.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HookProcess | Problem]
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
    body: HookTest,
) -> HookProcess | Problem | None:
    """Run a hook as a test

     Runs the configured `on_success` or `on_failure` command now, as a test (admin), with the
    same rules as after a backup (its own process group, `work_folder`, `timeout_seconds`, the
    `BACKUP_*` variables) and `BACKUP_RESULT=test` with the latest backup's ID, report and
    folders. Answers at once, 202 with the process (status `running`, or `failed_to_start` with
    `error`); follow its output with `GET /hook-processes/{id}/output`. 422
    (`validation_failed`) when that hook's command is empty or cannot be split into arguments;
    409 (`work_folder_missing`) when the work folder does not exist.

    Args:
        body (HookTest): `POST /hook-processes`: which configured command to run as a test.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HookProcess | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: HookTest,
) -> Response[HookProcess | Problem]:
    """Run a hook as a test

     Runs the configured `on_success` or `on_failure` command now, as a test (admin), with the
    same rules as after a backup (its own process group, `work_folder`, `timeout_seconds`, the
    `BACKUP_*` variables) and `BACKUP_RESULT=test` with the latest backup's ID, report and
    folders. Answers at once, 202 with the process (status `running`, or `failed_to_start` with
    `error`); follow its output with `GET /hook-processes/{id}/output`. 422
    (`validation_failed`) when that hook's command is empty or cannot be split into arguments;
    409 (`work_folder_missing`) when the work folder does not exist.

    Args:
        body (HookTest): `POST /hook-processes`: which configured command to run as a test.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HookProcess | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: HookTest,
) -> HookProcess | Problem | None:
    """Run a hook as a test

     Runs the configured `on_success` or `on_failure` command now, as a test (admin), with the
    same rules as after a backup (its own process group, `work_folder`, `timeout_seconds`, the
    `BACKUP_*` variables) and `BACKUP_RESULT=test` with the latest backup's ID, report and
    folders. Answers at once, 202 with the process (status `running`, or `failed_to_start` with
    `error`); follow its output with `GET /hook-processes/{id}/output`. 422
    (`validation_failed`) when that hook's command is empty or cannot be split into arguments;
    409 (`work_folder_missing`) when the work folder does not exist.

    Args:
        body (HookTest): `POST /hook-processes`: which configured command to run as a test.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HookProcess | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
