"""The validated configuration: frozen dataclasses the rest of the gateway reads."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, TokenMode

DEFAULT_MQTT_PORT = 1883
DEFAULT_MQTT_TLS_PORT = 8883


@dataclass(frozen=True)
class TlsConfig:
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MqttConfig:
    host: str = "localhost"
    port: int = DEFAULT_MQTT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = "nuki2mqtt"
    base_topic: str = "nuki2mqtt"
    protocol: str = "5"
    tls: TlsConfig | None = None
    keepalive: int = 60


@dataclass(frozen=True)
class HomeAssistantConfig:
    enabled: bool = True
    discovery_prefix: str = "homeassistant"
    status_topic: str = "homeassistant/status"


@dataclass(frozen=True)
class BridgeConfig:
    host: str
    token: str = field(repr=False)
    port: int = DEFAULT_BRIDGE_PORT
    token_mode: TokenMode = TokenMode.ENCRYPTED
    poll_interval: float = 60
    callbacks: bool = True
    allow_maintenance: bool = False


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_file: str | None = None


@dataclass(frozen=True)
class WebhookConfig:
    secret: str = field(repr=False)


@dataclass(frozen=True)
class WebConfig:
    api_token: str | None = field(default=None, repr=False)
    oauth: OAuthConfig | None = None
    base_url: str = "https://api.nuki.io"
    poll_interval: float = 60
    webhook: WebhookConfig | None = None


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 8321
    advertise_url: str | None = None


@dataclass(frozen=True)
class DeviceConfig:
    topic: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class CommandsConfig:
    ttl: float = 30


@dataclass(frozen=True)
class Config:
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    bridges: tuple[BridgeConfig, ...] = ()
    web: WebConfig | None = None
    server: ServerConfig = field(default_factory=ServerConfig)
    devices: Mapping[str, DeviceConfig] = field(default_factory=lambda: MappingProxyType({}))
    commands: CommandsConfig = field(default_factory=CommandsConfig)
    log_level: str = "info"

    def device(self, device_id: str) -> DeviceConfig:
        """The user's settings for a device, or the empty defaults; ids are case-insensitive."""
        return self.devices.get(str(device_id).upper(), DeviceConfig())


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Invalid or missing configuration; ``issues`` holds every problem found."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
