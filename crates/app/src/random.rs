use crate::AppError;

/// Where random bytes come from. The domain takes bytes as parameters; this
/// is the one place that draws them.
pub trait Random: Send + Sync + std::fmt::Debug {
    fn fill(&self, buf: &mut [u8]) -> Result<(), AppError>;
}

/// The operating system's generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), AppError> {
        getrandom::fill(buf).map_err(|_| AppError::Random)
    }
}

/// Wall-clock time, as microseconds since the Unix epoch.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_micros(&self) -> i64;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

pub(crate) fn bytes<const N: usize>(random: &dyn Random) -> Result<[u8; N], AppError> {
    let mut b = [0u8; N];
    random.fill(&mut b)?;
    Ok(b)
}
