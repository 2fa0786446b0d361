"""Feetech STS serial-bus servos (the SO-101's STS3215): the packet codec, the control table, a bus
client over a serial port, and a virtual bus of servos on a pseudo-terminal (docs/feetech_protocol.md)."""
