"""Builds and serves the sandbox EHR's aiohttp application."""

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from ehr_integrations.sandbox import (
    auth_server,
    capability,
    control,
    fhir_views,
    flavours,
    schedule_operations,
    schedule_views,
    writes,
)
from ehr_integrations.sandbox.faults import FaultRule, FaultSet, faults_middleware
from ehr_integrations.sandbox.generate import generate
from ehr_integrations.sandbox.harness import harness_middleware
from ehr_integrations.sandbox.request_log import logging_middleware
from ehr_integrations.sandbox.state import FAULTS, LOG, STATE, SandboxState
from ehr_integrations.sandbox.tokens import TokenStore


@dataclass(frozen=True)
class SandboxConfig:
    flavour: str = "generic"
    patients: int = 200
    seed: int = 7
    token_lifetime: int = 300
    host: str = "127.0.0.1"
    port: int = 0
    faults: tuple[FaultRule, ...] = ()


def build_state(config: SandboxConfig) -> SandboxState:
    faults = FaultSet(seed=config.seed)
    for rule in config.faults:
        faults.add(rule)
    state = SandboxState(
        flavour=flavours.get(config.flavour),
        population=generate(patients=config.patients, seed=config.seed),
        tokens=TokenStore(lifetime=config.token_lifetime),
        faults=faults,
    )
    state.schedule.generate(state.population)
    return state


def build_app(state: SandboxState) -> web.Application:
    app = web.Application(
        middlewares=[
            harness_middleware(state.clients.internal.secret),
            logging_middleware(LOG),
            control.loopback_only,
            faults_middleware(FAULTS),
            fhir_views.bearer_middleware,
        ]
    )
    app[STATE] = state
    app[LOG] = state.log
    app[FAULTS] = state.faults
    app.router.add_routes(control.routes())
    app.router.add_routes(writes.routes())
    app.router.add_routes(schedule_views.routes())
    app.router.add_routes(schedule_operations.routes())
    app.router.add_routes(
        [
            web.get("/.well-known/smart-configuration", auth_server.smart_configuration),
            web.get("/fhir/.well-known/smart-configuration", auth_server.smart_configuration),
            web.post("/oauth2/token", auth_server.token),
            web.get("/fhir/metadata", capability.metadata),
            web.post("/fhir/Patient/$match", fhir_views.patient_match),
            web.post("/fhir/{type}/_search", fhir_views.search_post),
            web.get("/fhir/{type}", fhir_views.search_get),
            web.get("/fhir/{type}/{id}", fhir_views.read),
        ]
    )

    async def close_jwks(_app: web.Application) -> None:
        await state.jwks_cache.close()

    app.on_cleanup.append(close_jwks)
    return app


async def serve(config: SandboxConfig, on_ready: Callable[[str], None]) -> None:
    """Generate the population, bind (port 0 picks a free one), call on_ready(base_url), run until cancelled."""
    state = build_state(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    state.base_url = f"http://{config.host}:{sock.getsockname()[1]}"
    # Cancel a handler when its client goes away, so hung requests end with their connection.
    runner = web.AppRunner(build_app(state), handler_cancellation=True, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=2048).start()
    on_ready(state.base_url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
