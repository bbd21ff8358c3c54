//! Bond storage in BlueZ's on-disk format, and loading it back into the kernel.
