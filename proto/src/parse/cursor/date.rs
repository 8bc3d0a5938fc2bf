//! Dates and date-times (`date`, `date-text`, `date-time` of RFC 9051 section 9).

use super::{Cursor, PResult};
use crate::types::{Date, DateTime};

impl Cursor<'_> {
    fn month(&mut self) -> PResult<u8> {
        let m = self.take(3, "expected month")?;
        crate::types::MONTHS
            .iter()
            .position(|name| name.as_bytes().eq_ignore_ascii_case(m))
            .and_then(|i| u8::try_from(i + 1).ok())
            .ok_or_else(|| self.error("invalid month"))
    }

    fn fixed_digits(&mut self, n: usize, reason: &'static str) -> PResult<u16> {
        let d = self.take(n, reason)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return Err(self.error(reason));
        }
        Ok(d.iter().fold(0u16, |v, &b| v * 10 + u16::from(b - b'0')))
    }

    /// `date-text = date-day "-" date-month "-" date-year`.
    fn date_text(&mut self) -> PResult<Date> {
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 {
            return Err(self.error("expected day of month"));
        }
        let day = day.iter().fold(0u8, |v, &b| v * 10 + (b - b'0'));
        self.expect(b'-', "expected \"-\" in date")?;
        let month = self.month()?;
        self.expect(b'-', "expected \"-\" in date")?;
        let year = self.fixed_digits(4, "expected 4-digit year")?;
        Date::new(year, month, day).map_err(|_| self.error("invalid date"))
    }

    /// `date = date-text / DQUOTE date-text DQUOTE`.
    pub fn date(&mut self) -> PResult<Date> {
        if self.eat(b'"') {
            let d = self.date_text()?;
            self.expect(b'"', "expected closing quote after date")?;
            Ok(d)
        } else {
            self.date_text()
        }
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`.
    /// A one-digit day without the leading space is accepted too.
    pub fn date_time(&mut self) -> PResult<DateTime> {
        self.expect(b'"', "expected date-time")?;
        self.eat(b' ');
        let date = self.date_text()?;
        self.expect(b' ', "expected SP before time")?;
        let hour = self.fixed_digits(2, "expected hour")?;
        self.expect(b':', "expected \":\" in time")?;
        let minute = self.fixed_digits(2, "expected minutes")?;
        self.expect(b':', "expected \":\" in time")?;
        let second = self.fixed_digits(2, "expected seconds")?;
        self.expect(b' ', "expected SP before zone")?;
        let sign: i16 = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(self.error("expected zone")),
        };
        self.pos += 1;
        let zh = self.fixed_digits(2, "expected zone")?;
        let zm = self.fixed_digits(2, "expected zone")?;
        if zm >= 60 {
            return Err(self.error("invalid zone"));
        }
        self.expect(b'"', "expected closing quote after date-time")?;
        let zone = i16::try_from(zh * 60 + zm).map_err(|_| self.error("invalid zone"))? * sign;
        let narrow = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
        DateTime::new(date, narrow(hour), narrow(minute), narrow(second), zone)
            .map_err(|_| self.error("invalid date-time"))
    }
}
