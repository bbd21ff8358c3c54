//! btsnoop capture files in the monitor format (`btmon -w`): reading, writing, and the MGMT
//! control-channel records inside them.
