//! Timestamps as Label Studio writes them: ISO-8601 UTC with microseconds
//! and `Z`, from microseconds since the Unix epoch.

/// `2026-12-01T06:43:44.727401Z`.
pub fn iso8601(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 { y + 1 } else { y },
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the epoch of a UTC time as databases write it:
/// `2026-12-01 19:48:11.158246`, with `T` or a space, up to six fraction
/// digits, and optionally `Z` or `+00:00` (Django on SQLite stores UTC).
/// `None` for anything else, another offset included.
pub fn parse_utc(text: &str) -> Option<i64> {
    let t = text.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix("+00:00"))
        .unwrap_or(t);
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = t.split_once([' ', 'T'])?;
    let mut d = date.split('-');
    let (y, mo, da) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut h = hms.split(':');
    let (hh, mi, ss) = (num(h.next()?)?, num(h.next()?)?, num(h.next()?)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d.next().is_some()
        || h.next().is_some()
        || !(1..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=month_days).contains(&da)
        || hh > 23
        || mi > 59
        || ss > 59
        || frac.len() > 6
    {
        return None;
    }
    let micros = if frac.is_empty() {
        0
    } else {
        num(frac)? * 10_i64.pow(6 - u32::try_from(frac.len()).ok()?)
    };
    let secs = days_from_civil(y, mo, da) * 86_400 + hh * 3600 + mi * 60 + ss;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn database_times_parse() {
        assert_eq!(
            parse_utc("2026-12-01 06:43:44.727401"),
            Some(1_796_107_424_727_401)
        );
        assert_eq!(
            parse_utc("2026-12-01T06:43:44.7274Z"),
            Some(1_796_107_424_727_400)
        );
        assert_eq!(
            parse_utc("2000-02-29 00:00:00+00:00"),
            Some(951_782_400_000_000)
        );
        for bad in [
            "",
            "2026-13-01 00:00:00",
            "2026-12-01",
            "2026-12-01 00:00:00+02:00",
            "x",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parse_reads_what_iso8601_writes(micros in -62_135_596_800_000_000i64..253_402_300_800_000_000) {
            prop_assert_eq!(parse_utc(&iso8601(micros)), Some(micros));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse_utc(&s);
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            iso8601(1_796_107_424_727_401),
            "2026-12-01T06:43:44.727401Z"
        );
        assert_eq!(iso8601(951_782_400_000_000), "2000-02-29T00:00:00.000000Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999999Z");
    }
}
