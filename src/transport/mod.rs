//! Transports: the kernel socket, replay from a capture, and recording to a capture.
