"""nuki2mqtt: Nuki Bridge and Nuki Web API to MQTT gateway."""

__version__ = "0.1.0"
