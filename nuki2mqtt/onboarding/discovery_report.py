"""What ``nuki2mqtt discover`` shows: a row per bridge and the notes that explain the rows.

Pure functions of the discovery entries and their probes, so the wording is testable
without a network.
"""
from __future__ import annotations

from dataclasses import dataclass

from nuki2mqtt.bridge.models import DiscoveredBridge
from nuki2mqtt.const import DEFAULT_BRIDGE_PORT
from nuki2mqtt.onboarding.clock import SKEW_LIMIT, SKEW_WARN, format_skew, skew_level
from nuki2mqtt.onboarding.probe import SKEW_FROM_DATE, BridgeProbe

HEADERS = ("BRIDGE ID", "ADDRESS", "REACHABLE", "TYPE", "FIRMWARE", "CLOCK")
#: Marks a clock difference read from the HTTP Date header instead of /info.
ROUGH = "~"
UNKNOWN = "?"
NONE = "-"


@dataclass(frozen=True)
class Found:
    """One bridge: its discovery entry (None when given with --host) and its probe (None when not probed)."""

    entry: DiscoveredBridge | None
    probe: BridgeProbe | None

    @property
    def discovery_disabled(self) -> bool:
        return self.entry is not None and (self.entry.ip in ("", "0.0.0.0") or self.entry.port == 0)

    @property
    def label(self) -> str:
        if self.entry is not None:
            return str(self.entry.bridge_id)
        if self.probe is not None and self.probe.info is not None:
            return str(self.probe.info.server_id)
        return NONE


def row(found: Found) -> tuple[str, ...]:
    probe = found.probe
    if found.discovery_disabled or probe is None:
        return (found.label, "(discovery off)", NONE, NONE, NONE, NONE)
    reachable = "yes" if probe.reachable else "no"
    if not probe.reachable:
        return (found.label, probe.address, reachable, NONE, NONE, NONE)
    return (
        found.label,
        probe.address,
        reachable,
        probe.bridge_type or UNKNOWN,
        probe.firmware or UNKNOWN,
        clock_cell(probe),
    )


def clock_cell(probe: BridgeProbe) -> str:
    if probe.skew is None:
        return UNKNOWN
    text = format_skew(probe.skew)
    if probe.skew_source == SKEW_FROM_DATE:
        text += f" {ROUGH}"
    level = skew_level(probe.skew)
    if level == "fail":
        text += "  too far"
    elif level == "warn":
        text += "  check"
    return text


def notes(found: list[Found], *, token_given: bool) -> list[str]:
    """The explanations under the table: one per problem, then the legend."""
    lines: list[str] = []
    for item in found:
        lines += _row_notes(item)
    probes = [f.probe for f in found if f.probe is not None and f.probe.reachable]
    if any(p.skew_source == SKEW_FROM_DATE for p in probes):
        lines.append(f"{ROUGH} read from the HTTP Date header of the bridge's answer (whole seconds); "
                     "the token gives the bridge's exact time from /info")
    if probes:
        lines.append(f"CLOCK is the bridge's clock minus this machine's; encrypted and hashed tokens fail "
                     f"beyond {SKEW_LIMIT:.0f} s, 'check' marks more than {SKEW_WARN:.0f} s")
    if probes and not token_given:
        lines.append("type, firmware and the exact clock need the bridge's token: --token TOKEN "
                     "or NUKI_BRIDGE_TOKEN (nuki2mqtt pair gets one)")
    return lines


def _row_notes(item: Found) -> list[str]:
    probe, name = item.probe, item.label
    if item.discovery_disabled:
        return [
            f"{name}: discovery is turned off on this bridge (listed as 0.0.0.0:0); find its IP address "
            "in the Nuki app (Manage my devices > Bridge) and probe it with --host IP"
        ]
    if probe is None:
        return []
    where = f"{name} at {probe.address}" if name != NONE else probe.address
    if not probe.reachable:
        stale = " (the list keeps bridges seen in the last 30 days: it may be old)" if item.entry else ""
        return [
            f"{where}: not reachable: {probe.error}{stale}; is the bridge powered and on this "
            "network, and is this machine on the same network (not a guest Wi-Fi or a VPN)?"
        ]
    out: list[str] = []
    if probe.forbidden:
        out.append(f"{where}: the HTTP API is disabled; turn it on in the Nuki app (Manage my devices > Bridge)")
    elif probe.token_accepted is False:
        mode = probe.token_mode.value if probe.token_mode else "its"
        out.append(
            f"{where}: the bridge refused the token in {mode} mode (401): wrong token, or clocks more than "
            f"{SKEW_LIMIT:.0f} s apart; --token-mode plain reads the bridge's clock either way"
        )
    elif probe.error:
        out.append(f"{where}: {probe.error}")
    if probe.skew is not None and skew_level(probe.skew) != "ok":
        out.append(f"{where}: the clocks differ by {format_skew(probe.skew)}; "
                   "sync this machine's clock (NTP); the bridge takes its time from the Nuki servers")
    return out


def next_steps(found: list[Found], *, token_given: bool) -> list[str]:
    """The command to run next for each reachable bridge."""
    steps = []
    for item in found:
        probe = item.probe
        if item.discovery_disabled or probe is None or not probe.reachable or probe.forbidden:
            continue
        if probe.token_accepted:
            continue
        port = "" if probe.port == DEFAULT_BRIDGE_PORT else f" --port {probe.port}"
        steps.append(f"nuki2mqtt pair --host {probe.host}{port}")
    if not steps and token_given and any(f.probe and f.probe.token_accepted for f in found):
        steps.append("nuki2mqtt check-config --online")
    return steps


NO_BRIDGES = (
    "No bridges found. The discovery URL lists the bridges that reached the Nuki servers from this "
    "network's public address in the last 30 days: is this machine on the same network as the bridge "
    "(not a guest Wi-Fi, VPN or mobile hotspot), is the bridge online, and is its HTTP API activated in "
    "the Nuki app (Manage my devices > Bridge)? If you know its IP address: nuki2mqtt discover --host IP"
)
