"""The onboarding commands' logic: discover, pair and ``check-config --online``.

The command modules in ``nuki2mqtt.cli`` only parse arguments and print; what they
find out about bridges, brokers and config files is computed here, so it can be
tested against the simulator without a terminal.
"""
