//! Why the kernel answered `EAFNOSUPPORT` to `socket(AF_BLUETOOTH, ...)`: the same errno means
//! either "this kernel has no Bluetooth" or "Bluetooth exists, but not in this network
//! namespace" (the kernel creates Bluetooth sockets only in the initial network namespace,
//! `bt_sock_create` in net/bluetooth/af_bluetooth.c, so every container with its own network
//! namespace gets the errno). The two need different fixes, so they are told apart here.

use std::path::Path;

/// What lies behind an `EAFNOSUPPORT` from the Bluetooth socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoBluetoothReason {
    /// The kernel has Bluetooth (its `bluetooth` module is loaded or built in), so the refusal
    /// comes from the network namespace: this process is not in the initial one.
    OtherNetworkNamespace,
    /// The kernel has no Bluetooth, or its module cannot be loaded.
    NoKernelSupport,
}

impl NoBluetoothReason {
    /// Finds the reason from the files under `root` (`/` on a live system): the kernel has
    /// Bluetooth when `sys/module/bluetooth` exists (a loaded or built-in module) or when
    /// `proc/net/protocols` lists the Bluetooth protocols (`HCI`, `L2CAP`).
    pub fn find(root: &Path) -> NoBluetoothReason {
        let module = root.join("sys/module/bluetooth").exists();
        let protocols = std::fs::read_to_string(root.join("proc/net/protocols"))
            .map(|t| {
                t.lines()
                    .any(|l| matches!(l.split_whitespace().next(), Some("HCI" | "L2CAP")))
            })
            .unwrap_or(false);
        if module || protocols {
            NoBluetoothReason::OtherNetworkNamespace
        } else {
            NoBluetoothReason::NoKernelSupport
        }
    }

    /// A sentence saying what is wrong and how to fix it.
    pub fn explanation(self) -> &'static str {
        match self {
            NoBluetoothReason::OtherNetworkNamespace => {
                "the kernel has Bluetooth, but this process runs in a network namespace of its \
                 own (a container, a systemd PrivateNetwork=, `ip netns`), and the kernel \
                 creates Bluetooth sockets only in the initial network namespace: run it in \
                 the host's network namespace (for example `docker run --network host`)"
            }
            NoBluetoothReason::NoKernelSupport => {
                "this kernel has no Bluetooth support (socket: address family not supported; \
                 no `bluetooth` module is loaded or built in: load it with `modprobe \
                 bluetooth` or use a kernel built with CONFIG_BT)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_or_protocols_mean_a_namespace_problem() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(
            NoBluetoothReason::find(root.path()),
            NoBluetoothReason::NoKernelSupport
        );
        let net = root.path().join("proc/net");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(
            net.join("protocols"),
            "protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re sp bi br ha uh gp em\n\
             TCP       2432      3      -1   NI       0   yes  kernel      y  y  y  y  y  y  y  y  y  y  y  y  y  n  y  y  y  y  y\n",
        )
        .unwrap();
        assert_eq!(
            NoBluetoothReason::find(root.path()),
            NoBluetoothReason::NoKernelSupport
        );
        let mut t = std::fs::read_to_string(net.join("protocols")).unwrap();
        t.push_str("L2CAP     1064      0      -1   NI       0   no   bluetooth   n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n");
        std::fs::write(net.join("protocols"), t).unwrap();
        assert_eq!(
            NoBluetoothReason::find(root.path()),
            NoBluetoothReason::OtherNetworkNamespace
        );
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("sys/module/bluetooth")).unwrap();
        let r = NoBluetoothReason::find(root.path());
        assert_eq!(r, NoBluetoothReason::OtherNetworkNamespace);
        assert!(r.explanation().contains("network namespace"));
        assert!(NoBluetoothReason::NoKernelSupport
            .explanation()
            .starts_with("this kernel has no Bluetooth support"));
    }
}
