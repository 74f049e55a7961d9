"""The enrolled-device registry: enrollment syncs applied as state transfers and acknowledged
(ENR-SYNC, ENR-ACK), enrollment requests derms originates (ENR-REQ), and device status checks
answered from the registry (DEV-STATUS)."""
