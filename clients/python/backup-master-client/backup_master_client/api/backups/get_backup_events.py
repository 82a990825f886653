from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.backup_event_message import BackupEventMessage
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/backups/{id}/events".format(
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BackupEventMessage | Problem | None:
    if response.status_code == 200:
        response_200 = BackupEventMessage.from_dict(response.text)

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BackupEventMessage | Problem]:
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
) -> Response[BackupEventMessage | Problem]:
    """Follow a backup (server-sent events)

     A `text/event-stream` of the backup's progress. Event types:

    - `progress`: `data` is a `BackupEvent` of type `progress`, one component's status and
      counters; first one per component with its current state, then one at each step.
    - `end`: `data` is a `BackupEvent` of type `end` with the final status; the last event.

    A finished backup answers with its final state and `end` at once. A client that falls
    behind gets the current state instead of every step; one that leaves its buffered events
    (64 KiB) untaken for 10 s is dropped (its stream ends; reconnecting starts from the current
    state, so `Last-Event-ID` is not used here). Comments (`: keep-alive`) are sent every 15 s.
    At most `max_stream_subscribers` clients follow one backup: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    event: progress
    data: {"type":"progress","name":"hub","status":"preparing","files":3,"files_copied":1,"files_linked"
    :2,"bytes_copied":2048,"bytes_linked":1044480}

    event: progress
    data: {"type":"progress","name":"hub","status":"committed","files":4,"files_copied":2,"files_linked"
    :2,"bytes_copied":4096,"bytes_linked":1044480}

    event: end
    data: {"type":"end","status":"succeeded"}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BackupEventMessage | Problem]
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
) -> BackupEventMessage | Problem | None:
    """Follow a backup (server-sent events)

     A `text/event-stream` of the backup's progress. Event types:

    - `progress`: `data` is a `BackupEvent` of type `progress`, one component's status and
      counters; first one per component with its current state, then one at each step.
    - `end`: `data` is a `BackupEvent` of type `end` with the final status; the last event.

    A finished backup answers with its final state and `end` at once. A client that falls
    behind gets the current state instead of every step; one that leaves its buffered events
    (64 KiB) untaken for 10 s is dropped (its stream ends; reconnecting starts from the current
    state, so `Last-Event-ID` is not used here). Comments (`: keep-alive`) are sent every 15 s.
    At most `max_stream_subscribers` clients follow one backup: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    event: progress
    data: {"type":"progress","name":"hub","status":"preparing","files":3,"files_copied":1,"files_linked"
    :2,"bytes_copied":2048,"bytes_linked":1044480}

    event: progress
    data: {"type":"progress","name":"hub","status":"committed","files":4,"files_copied":2,"files_linked"
    :2,"bytes_copied":4096,"bytes_linked":1044480}

    event: end
    data: {"type":"end","status":"succeeded"}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BackupEventMessage | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
) -> Response[BackupEventMessage | Problem]:
    """Follow a backup (server-sent events)

     A `text/event-stream` of the backup's progress. Event types:

    - `progress`: `data` is a `BackupEvent` of type `progress`, one component's status and
      counters; first one per component with its current state, then one at each step.
    - `end`: `data` is a `BackupEvent` of type `end` with the final status; the last event.

    A finished backup answers with its final state and `end` at once. A client that falls
    behind gets the current state instead of every step; one that leaves its buffered events
    (64 KiB) untaken for 10 s is dropped (its stream ends; reconnecting starts from the current
    state, so `Last-Event-ID` is not used here). Comments (`: keep-alive`) are sent every 15 s.
    At most `max_stream_subscribers` clients follow one backup: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    event: progress
    data: {"type":"progress","name":"hub","status":"preparing","files":3,"files_copied":1,"files_linked"
    :2,"bytes_copied":2048,"bytes_linked":1044480}

    event: progress
    data: {"type":"progress","name":"hub","status":"committed","files":4,"files_copied":2,"files_linked"
    :2,"bytes_copied":4096,"bytes_linked":1044480}

    event: end
    data: {"type":"end","status":"succeeded"}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BackupEventMessage | Problem]
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
) -> BackupEventMessage | Problem | None:
    """Follow a backup (server-sent events)

     A `text/event-stream` of the backup's progress. Event types:

    - `progress`: `data` is a `BackupEvent` of type `progress`, one component's status and
      counters; first one per component with its current state, then one at each step.
    - `end`: `data` is a `BackupEvent` of type `end` with the final status; the last event.

    A finished backup answers with its final state and `end` at once. A client that falls
    behind gets the current state instead of every step; one that leaves its buffered events
    (64 KiB) untaken for 10 s is dropped (its stream ends; reconnecting starts from the current
    state, so `Last-Event-ID` is not used here). Comments (`: keep-alive`) are sent every 15 s.
    At most `max_stream_subscribers` clients follow one backup: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    event: progress
    data: {"type":"progress","name":"hub","status":"preparing","files":3,"files_copied":1,"files_linked"
    :2,"bytes_copied":2048,"bytes_linked":1044480}

    event: progress
    data: {"type":"progress","name":"hub","status":"committed","files":4,"files_copied":2,"files_linked"
    :2,"bytes_copied":4096,"bytes_linked":1044480}

    event: end
    data: {"type":"end","status":"succeeded"}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BackupEventMessage | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
        )
    ).parsed
