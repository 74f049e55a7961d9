"""derms, the DER Management System: the enrolled-device registry and what derms says about it.

For the enrollment journey (docs/contracts/enrollment.md) derms applies the enrollment syncs cpm
sends through the hub, acknowledges each with a MsgAck, originates bring-your-own-device
enrollment requests, and answers device status checks.
"""
