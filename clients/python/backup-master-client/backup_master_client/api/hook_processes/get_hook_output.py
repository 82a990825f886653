from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.hook_output_message_type_0 import HookOutputMessageType0
from ...models.hook_output_message_type_1 import HookOutputMessageType1
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    last_event_id: int | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = str(last_event_id)

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/hook-processes/{id}/output".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> HookOutputMessageType0 | HookOutputMessageType1 | Problem | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> HookOutputMessageType0 | HookOutputMessageType1:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_hook_output_message_type_0 = HookOutputMessageType0.from_dict(data)

                return componentsschemas_hook_output_message_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_hook_output_message_type_1 = HookOutputMessageType1.from_dict(data)

            return componentsschemas_hook_output_message_type_1

        response_200 = _parse_response_200(response.text)

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
) -> Response[HookOutputMessageType0 | HookOutputMessageType1 | Problem]:
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
    last_event_id: int | Unset = UNSET,
) -> Response[HookOutputMessageType0 | HookOutputMessageType1 | Problem]:
    """Follow a hook's output (server-sent events)

     A `text/event-stream` of the process's output (stdout and stderr, interleaved, line by
    line), from line 1 or after `Last-Event-ID`, then live. Event types:

    - `line`: `id` is the line number, `data` an `OutputLine` (`{"n":..,"text":..}`).
    - `exit`: the last event, `data` an `OutputExit` (`status`, `exit_code`, `signal`).

    Works the same for a finished process (the whole output, then `exit`). To resume after a
    dropped connection send `Last-Event-ID` with the last line number received: the stream goes
    on after it, each line once. A client that leaves its buffered output (128 KiB) untaken for
    10 s is dropped: the stream ends without `exit`, and the client resumes with
    `Last-Event-ID`. At most `max_stream_subscribers` clients follow one process: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    id: 1
    event: line
    data: {"n":1,"text":"copying 20261126T020000Z to tape"}

    id: 2
    event: line
    data: {"n":2,"text":"done: 3 folders, 61865984 bytes"}

    event: exit
    data: {"event":"exit","status":"exited","exit_code":0,"signal":null}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HookOutputMessageType0 | HookOutputMessageType1 | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: int | Unset = UNSET,
) -> HookOutputMessageType0 | HookOutputMessageType1 | Problem | None:
    """Follow a hook's output (server-sent events)

     A `text/event-stream` of the process's output (stdout and stderr, interleaved, line by
    line), from line 1 or after `Last-Event-ID`, then live. Event types:

    - `line`: `id` is the line number, `data` an `OutputLine` (`{"n":..,"text":..}`).
    - `exit`: the last event, `data` an `OutputExit` (`status`, `exit_code`, `signal`).

    Works the same for a finished process (the whole output, then `exit`). To resume after a
    dropped connection send `Last-Event-ID` with the last line number received: the stream goes
    on after it, each line once. A client that leaves its buffered output (128 KiB) untaken for
    10 s is dropped: the stream ends without `exit`, and the client resumes with
    `Last-Event-ID`. At most `max_stream_subscribers` clients follow one process: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    id: 1
    event: line
    data: {"n":1,"text":"copying 20261126T020000Z to tape"}

    id: 2
    event: line
    data: {"n":2,"text":"done: 3 folders, 61865984 bytes"}

    event: exit
    data: {"event":"exit","status":"exited","exit_code":0,"signal":null}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HookOutputMessageType0 | HookOutputMessageType1 | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: int | Unset = UNSET,
) -> Response[HookOutputMessageType0 | HookOutputMessageType1 | Problem]:
    """Follow a hook's output (server-sent events)

     A `text/event-stream` of the process's output (stdout and stderr, interleaved, line by
    line), from line 1 or after `Last-Event-ID`, then live. Event types:

    - `line`: `id` is the line number, `data` an `OutputLine` (`{"n":..,"text":..}`).
    - `exit`: the last event, `data` an `OutputExit` (`status`, `exit_code`, `signal`).

    Works the same for a finished process (the whole output, then `exit`). To resume after a
    dropped connection send `Last-Event-ID` with the last line number received: the stream goes
    on after it, each line once. A client that leaves its buffered output (128 KiB) untaken for
    10 s is dropped: the stream ends without `exit`, and the client resumes with
    `Last-Event-ID`. At most `max_stream_subscribers` clients follow one process: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    id: 1
    event: line
    data: {"n":1,"text":"copying 20261126T020000Z to tape"}

    id: 2
    event: line
    data: {"n":2,"text":"done: 3 folders, 61865984 bytes"}

    event: exit
    data: {"event":"exit","status":"exited","exit_code":0,"signal":null}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HookOutputMessageType0 | HookOutputMessageType1 | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: int | Unset = UNSET,
) -> HookOutputMessageType0 | HookOutputMessageType1 | Problem | None:
    """Follow a hook's output (server-sent events)

     A `text/event-stream` of the process's output (stdout and stderr, interleaved, line by
    line), from line 1 or after `Last-Event-ID`, then live. Event types:

    - `line`: `id` is the line number, `data` an `OutputLine` (`{"n":..,"text":..}`).
    - `exit`: the last event, `data` an `OutputExit` (`status`, `exit_code`, `signal`).

    Works the same for a finished process (the whole output, then `exit`). To resume after a
    dropped connection send `Last-Event-ID` with the last line number received: the stream goes
    on after it, each line once. A client that leaves its buffered output (128 KiB) untaken for
    10 s is dropped: the stream ends without `exit`, and the client resumes with
    `Last-Event-ID`. At most `max_stream_subscribers` clients follow one process: 429
    (`too_many_subscribers`) past it. Any role. A stream:

    ```text
    id: 1
    event: line
    data: {"n":1,"text":"copying 20261126T020000Z to tape"}

    id: 2
    event: line
    data: {"n":2,"text":"done: 3 folders, 61865984 bytes"}

    event: exit
    data: {"event":"exit","status":"exited","exit_code":0,"signal":null}
    ```

    Args:
        id (str): A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`,
            without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HookOutputMessageType0 | HookOutputMessageType1 | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            last_event_id=last_event_id,
        )
    ).parsed
