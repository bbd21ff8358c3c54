//! Record timestamps: microseconds since midnight, 1 January of year 0 (the btsnoop epoch),
//! with conversions to the Unix epoch and [`SystemTime`].

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds from the btsnoop epoch (midnight, 1 January of year 0, nominal Gregorian) to
/// 2000-01-01 00:00 UTC: the constant BlueZ `src/shared/btsnoop.c` adds after subtracting
/// 946684800 seconds from Unix time.
pub const Y2000_OFFSET_MICROS: i64 = 0x00E0_3AB4_4A67_6000;

/// Microseconds from the btsnoop epoch to the Unix epoch (1970-01-01 00:00 UTC):
/// [`Y2000_OFFSET_MICROS`] less the 946684800 seconds from 1970 to 2000, which is 0x00DCDDB30F2F8000
/// (the figure Wireshark uses too). Files written by `btmon -w` convert with it.
pub const UNIX_EPOCH_OFFSET_MICROS: i64 = Y2000_OFFSET_MICROS - 946_684_800_000_000;

/// When a record was captured, in microseconds since the btsnoop epoch (the value stored in
/// the file, kept exactly).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The timestamp `micros` microseconds after the Unix epoch.
    pub fn from_unix_micros(micros: i64) -> Self {
        Timestamp(micros.wrapping_add(UNIX_EPOCH_OFFSET_MICROS))
    }

    /// Microseconds since the Unix epoch (negative before 1970).
    pub fn unix_micros(self) -> i64 {
        self.0.wrapping_sub(UNIX_EPOCH_OFFSET_MICROS)
    }

    /// Microseconds since the btsnoop epoch, as stored in the file.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// The timestamp of a [`SystemTime`], truncated to the microsecond.
    pub fn from_system_time(t: SystemTime) -> Self {
        let micros = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Self::from_unix_micros(micros)
    }

    /// The current time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// The timestamp as a [`SystemTime`], or `None` if the platform cannot represent it.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let micros = self.unix_micros();
        let d = Duration::from_micros(micros.unsigned_abs());
        if micros >= 0 {
            UNIX_EPOCH.checked_add(d)
        } else {
            UNIX_EPOCH.checked_sub(d)
        }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after Howard Hinnant's
/// `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    /// UTC with microseconds: `2024-03-01 12:00:05.123456`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.unix_micros();
        let secs = us.div_euclid(1_000_000);
        let frac = us.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_agree_with_bluez_and_wireshark() {
        assert_eq!(UNIX_EPOCH_OFFSET_MICROS, 0x00DC_DDB3_0F2F_8000);
        // BlueZ btsnoop.c: ts = (sec - 946684800) * 10^6 + usec + 0x00E03AB44A676000.
        let sec = 1_700_000_000i64;
        let bluez = (sec - 946_684_800) * 1_000_000 + 5 + 0x00E0_3AB4_4A67_6000;
        assert_eq!(Timestamp::from_unix_micros(sec * 1_000_000 + 5).0, bluez);
        assert_eq!(
            Timestamp(Y2000_OFFSET_MICROS).to_string(),
            "2000-01-01 00:00:00.000000"
        );
    }

    #[test]
    fn unix_epoch_round_trip() {
        let t = Timestamp::from_unix_micros(0);
        assert_eq!(t.0, UNIX_EPOCH_OFFSET_MICROS);
        assert_eq!(t.to_string(), "1970-01-01 00:00:00.000000");
        assert_eq!(t.to_system_time(), Some(UNIX_EPOCH));
    }

    #[test]
    fn display_is_utc_with_micros() {
        // 2000-01-01 00:00:00 UTC is Unix 946684800 (the constant in BlueZ btsnoop.c).
        let t = Timestamp::from_unix_micros(946_684_800_000_000 + 42);
        assert_eq!(t.to_string(), "2000-01-01 00:00:00.000042");
        // 2024-02-29 23:59:59.999999 (a leap day): Unix 1709251199.
        let t = Timestamp::from_unix_micros(1_709_251_199_999_999);
        assert_eq!(t.to_string(), "2024-02-29 23:59:59.999999");
        let t = Timestamp::from_unix_micros(-1);
        assert_eq!(t.to_string(), "1969-12-31 23:59:59.999999");
    }

    #[test]
    fn system_time_round_trip() {
        let now = SystemTime::now();
        let t = Timestamp::from_system_time(now);
        let back = t.to_system_time().unwrap();
        let diff = now.duration_since(back).unwrap();
        assert!(diff < Duration::from_micros(1));
    }

    #[test]
    fn extremes_do_not_panic() {
        for v in [i64::MIN, i64::MAX, 0] {
            let t = Timestamp(v);
            let _ = t.to_string();
            let _ = t.to_system_time();
            let _ = t.unix_micros();
        }
    }
}
