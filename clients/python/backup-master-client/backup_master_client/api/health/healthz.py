from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.health import Health
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/healthz",
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Health | None:
    if response.status_code == 200:
        response_200 = Health.from_dict(response.json())

        return response_200

    if response.status_code == 431:
        response_431 = cast(Any, None)
        return response_431

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Health]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Health]:
    """Liveness of the server

     Answers 200 while the server runs, with `status` `ok`, or `degraded` while something keeps a
    job from ending (`problems` says what, e.g. a job record that cannot be written). Changes
    nothing and answers at once. Needs no token (for load balancers and Docker `HEALTHCHECK`);
    the agent serves the same route.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Health]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Any | Health | None:
    """Liveness of the server

     Answers 200 while the server runs, with `status` `ok`, or `degraded` while something keeps a
    job from ending (`problems` says what, e.g. a job record that cannot be written). Changes
    nothing and answers at once. Needs no token (for load balancers and Docker `HEALTHCHECK`);
    the agent serves the same route.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Health
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Health]:
    """Liveness of the server

     Answers 200 while the server runs, with `status` `ok`, or `degraded` while something keeps a
    job from ending (`problems` says what, e.g. a job record that cannot be written). Changes
    nothing and answers at once. Needs no token (for load balancers and Docker `HEALTHCHECK`);
    the agent serves the same route.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Health]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Any | Health | None:
    """Liveness of the server

     Answers 200 while the server runs, with `status` `ok`, or `degraded` while something keeps a
    job from ending (`problems` says what, e.g. a job record that cannot be written). Changes
    nothing and answers at once. Needs no token (for load balancers and Docker `HEALTHCHECK`);
    the agent serves the same route.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Health
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
