"""Allows ``python -m nuki2mqtt``."""
import sys

from nuki2mqtt.cli import main

sys.exit(main())
