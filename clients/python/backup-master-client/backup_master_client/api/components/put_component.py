from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.component_update import ComponentUpdate
from ...models.component_view import ComponentView
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: ComponentUpdate,
    if_match: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["If-Match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/components/{name}".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ComponentView | Problem | None:
    if response.status_code == 200:
        response_200 = ComponentView.from_dict(response.json())

        return response_200

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

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())

        return response_412

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 428:
        response_428 = Problem.from_dict(response.json())

        return response_428

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ComponentView | Problem]:
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
    body: ComponentUpdate,
    if_match: str,
) -> Response[ComponentView | Problem]:
    """Change a component's backup folder and history

     Sets a component's backup folder, how many previous backups it keeps (`keep`, 0 to 100),
    for a `custom` profile its items, and its consistency settings (`freeze_command`,
    `thaw_command`, `freeze_timeout_seconds` 1 to 3600, `on_change` `warn`/`fail`, `snapshot`
    with its commands) and its restore lifecycle (`stop_command`, `start_command`,
    `health_command`, `start_timeout_seconds` 1 to 3600, `rollback_on_unhealthy`); each
    optional, absent keeps the current value (admin). Needs `If-Match` with the `ETag` of
    `GET /components/{name}` (`*` writes unconditionally): 428 (`precondition_required`)
    without it, 412 (`precondition_failed`) when stale. Refused with 422
    (`validation_failed`, `errors` naming the field), changing nothing: a folder shared with or
    nested in another component's backup folder or home, a folder inside one of the items, an
    existing folder that is not a backup folder, `items` for a built-in profile, a value out
    of range, a thaw without a freeze, snapshot commands without `snapshot = "command"`, and
    what this version cannot do yet (snapshots, freeze commands, `on_change = "fail"` on an
    agent's component). The config
    file is written atomically (503 `unavailable` when it cannot be); the next backup uses the
    new settings, existing slots are not moved.

    Args:
        name (str):
        if_match (str):
        body (ComponentUpdate): `PUT /components/{name}`. The consistency fields (`freeze_command`
            .. `snapshot_release_command`)
            are optional: absent keeps the current value, so a client that does not know them changes
            none of them; an empty command removes it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ComponentView | Problem]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient,
    body: ComponentUpdate,
    if_match: str,
) -> ComponentView | Problem | None:
    """Change a component's backup folder and history

     Sets a component's backup folder, how many previous backups it keeps (`keep`, 0 to 100),
    for a `custom` profile its items, and its consistency settings (`freeze_command`,
    `thaw_command`, `freeze_timeout_seconds` 1 to 3600, `on_change` `warn`/`fail`, `snapshot`
    with its commands) and its restore lifecycle (`stop_command`, `start_command`,
    `health_command`, `start_timeout_seconds` 1 to 3600, `rollback_on_unhealthy`); each
    optional, absent keeps the current value (admin). Needs `If-Match` with the `ETag` of
    `GET /components/{name}` (`*` writes unconditionally): 428 (`precondition_required`)
    without it, 412 (`precondition_failed`) when stale. Refused with 422
    (`validation_failed`, `errors` naming the field), changing nothing: a folder shared with or
    nested in another component's backup folder or home, a folder inside one of the items, an
    existing folder that is not a backup folder, `items` for a built-in profile, a value out
    of range, a thaw without a freeze, snapshot commands without `snapshot = "command"`, and
    what this version cannot do yet (snapshots, freeze commands, `on_change = "fail"` on an
    agent's component). The config
    file is written atomically (503 `unavailable` when it cannot be); the next backup uses the
    new settings, existing slots are not moved.

    Args:
        name (str):
        if_match (str):
        body (ComponentUpdate): `PUT /components/{name}`. The consistency fields (`freeze_command`
            .. `snapshot_release_command`)
            are optional: absent keeps the current value, so a client that does not know them changes
            none of them; an empty command removes it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ComponentView | Problem
    """

    return sync_detailed(
        name=name,
        client=client,
        body=body,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
    body: ComponentUpdate,
    if_match: str,
) -> Response[ComponentView | Problem]:
    """Change a component's backup folder and history

     Sets a component's backup folder, how many previous backups it keeps (`keep`, 0 to 100),
    for a `custom` profile its items, and its consistency settings (`freeze_command`,
    `thaw_command`, `freeze_timeout_seconds` 1 to 3600, `on_change` `warn`/`fail`, `snapshot`
    with its commands) and its restore lifecycle (`stop_command`, `start_command`,
    `health_command`, `start_timeout_seconds` 1 to 3600, `rollback_on_unhealthy`); each
    optional, absent keeps the current value (admin). Needs `If-Match` with the `ETag` of
    `GET /components/{name}` (`*` writes unconditionally): 428 (`precondition_required`)
    without it, 412 (`precondition_failed`) when stale. Refused with 422
    (`validation_failed`, `errors` naming the field), changing nothing: a folder shared with or
    nested in another component's backup folder or home, a folder inside one of the items, an
    existing folder that is not a backup folder, `items` for a built-in profile, a value out
    of range, a thaw without a freeze, snapshot commands without `snapshot = "command"`, and
    what this version cannot do yet (snapshots, freeze commands, `on_change = "fail"` on an
    agent's component). The config
    file is written atomically (503 `unavailable` when it cannot be); the next backup uses the
    new settings, existing slots are not moved.

    Args:
        name (str):
        if_match (str):
        body (ComponentUpdate): `PUT /components/{name}`. The consistency fields (`freeze_command`
            .. `snapshot_release_command`)
            are optional: absent keeps the current value, so a client that does not know them changes
            none of them; an empty command removes it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ComponentView | Problem]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient,
    body: ComponentUpdate,
    if_match: str,
) -> ComponentView | Problem | None:
    """Change a component's backup folder and history

     Sets a component's backup folder, how many previous backups it keeps (`keep`, 0 to 100),
    for a `custom` profile its items, and its consistency settings (`freeze_command`,
    `thaw_command`, `freeze_timeout_seconds` 1 to 3600, `on_change` `warn`/`fail`, `snapshot`
    with its commands) and its restore lifecycle (`stop_command`, `start_command`,
    `health_command`, `start_timeout_seconds` 1 to 3600, `rollback_on_unhealthy`); each
    optional, absent keeps the current value (admin). Needs `If-Match` with the `ETag` of
    `GET /components/{name}` (`*` writes unconditionally): 428 (`precondition_required`)
    without it, 412 (`precondition_failed`) when stale. Refused with 422
    (`validation_failed`, `errors` naming the field), changing nothing: a folder shared with or
    nested in another component's backup folder or home, a folder inside one of the items, an
    existing folder that is not a backup folder, `items` for a built-in profile, a value out
    of range, a thaw without a freeze, snapshot commands without `snapshot = "command"`, and
    what this version cannot do yet (snapshots, freeze commands, `on_change = "fail"` on an
    agent's component). The config
    file is written atomically (503 `unavailable` when it cannot be); the next backup uses the
    new settings, existing slots are not moved.

    Args:
        name (str):
        if_match (str):
        body (ComponentUpdate): `PUT /components/{name}`. The consistency fields (`freeze_command`
            .. `snapshot_release_command`)
            are optional: absent keeps the current value, so a client that does not know them changes
            none of them; an empty command removes it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ComponentView | Problem
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed
