//! Splitting a batch into statements of a few fixed sizes.
//!
//! A multi-row statement's text depends on its row count. With arbitrary counts every batch
//! prepares new statements (preparing a 1,000-row insert costs SQLite about as much as
//! running it) and floods the prepared-statement cache. Chunks of `max` rows and then
//! falling powers of two use at most `log2(max) + 1` shapes per statement, all of them cached.

/// Rows per chunk at most; a power of two.
pub const MAX_ROWS: usize = 256;

pub fn sized_chunks<T>(items: &[T]) -> SizedChunks<'_, T> {
    SizedChunks { rest: items }
}

pub struct SizedChunks<'a, T> {
    rest: &'a [T],
}

impl<'a, T> Iterator for SizedChunks<'a, T> {
    type Item = &'a [T];

    fn next(&mut self) -> Option<&'a [T]> {
        if self.rest.is_empty() {
            return None;
        }
        let len = self.rest.len();
        let size = if len >= MAX_ROWS {
            MAX_ROWS
        } else {
            1 << (usize::BITS - 1 - len.leading_zeros())
        };
        let (chunk, rest) = self.rest.split_at(size);
        self.rest = rest;
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_few_and_cover_everything() {
        let items: Vec<usize> = (0..1000).collect();
        let sizes: Vec<usize> = sized_chunks(&items).map(<[usize]>::len).collect();
        assert_eq!(sizes, [256, 256, 256, 128, 64, 32, 8]);
        let joined: Vec<usize> = sized_chunks(&items).flatten().copied().collect();
        assert_eq!(joined, items);
        assert_eq!(sized_chunks(&items[..1]).count(), 1);
        assert_eq!(sized_chunks::<usize>(&[]).count(), 0);
    }
}
