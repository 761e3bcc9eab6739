//! Splitting a batch into statements of a few fixed sizes.
//!
//! A multi-row statement's text depends on its row count. With arbitrary counts every batch
//! prepares new statements (preparing a 1,000-row insert costs SQLite about as much as
//! running it) and floods the prepared-statement cache. Fewer than [`EXACT_BELOW`] rows go in
//! one statement of their own size (a webhook's group of a few comments: every statement is a
//! round trip, and 7 rows as 4, 2 and 1 would take three); more go in chunks of [`MAX_ROWS`] and then
//! falling powers of two. That is at most 20 shapes per statement (1 to 15 rows, then 16 to
//! 256), all of them cached.

/// Rows per chunk at most; a power of two.
pub const MAX_ROWS: usize = 256;

/// Below this many rows, one statement of exactly that many.
pub const EXACT_BELOW: usize = 16;

pub fn sized_chunks<T>(items: &[T]) -> SizedChunks<'_, T> {
    SizedChunks {
        rest: items,
        any_size: false,
    }
}

/// Chunks for rows bound with `Sql::bind_table`: on PostgreSQL, where such a statement has one
/// shape for any number of rows, up to [`MAX_ROWS`] at a time; on SQLite, [`sized_chunks`].
pub fn table_chunks<T>(backend: super::Backend, items: &[T]) -> SizedChunks<'_, T> {
    SizedChunks {
        rest: items,
        any_size: backend == super::Backend::Postgres,
    }
}

pub struct SizedChunks<'a, T> {
    rest: &'a [T],
    any_size: bool,
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
        } else if len < EXACT_BELOW || self.any_size {
            len
        } else {
            1 << (usize::BITS - 1 - len.leading_zeros())
        };
        let (chunk, rest) = self.rest.split_at(size);
        self.rest = rest;
        Some(chunk)
    }
}

/// Keys for `IN (…)` lists and key tables, in chunks of at most [`MAX_ROWS`]. On SQLite each
/// is padded to a power of two by repeating its last key: a key twice in an `IN` list changes
/// no result, and a read of any number of keys up to `MAX_ROWS` is then one statement (not
/// one per power of two in the count, each a round trip) in one of a few cached shapes. On
/// PostgreSQL such lists are arrays (`Sql::bind_ids`, `Sql::bind_table`), one shape for any
/// count, and a repeated key would only be looked up again.
pub fn padded_chunks<T: Clone>(
    backend: super::Backend,
    keys: &[T],
) -> impl Iterator<Item = Vec<T>> + '_ {
    keys.chunks(MAX_ROWS).map(move |chunk| {
        let mut padded = chunk.to_vec();
        if backend == super::Backend::Sqlite {
            padded.resize(
                chunk.len().next_power_of_two(),
                chunk[chunk.len() - 1].clone(),
            );
        }
        padded
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Backend;

    #[test]
    fn sizes_are_few_and_cover_everything() {
        let items: Vec<usize> = (0..1000).collect();
        let sizes: Vec<usize> = sized_chunks(&items).map(<[usize]>::len).collect();
        assert_eq!(sizes, [256, 256, 256, 128, 64, 32, 8]);
        let sizes: Vec<usize> = sized_chunks(&items[..7]).map(<[usize]>::len).collect();
        assert_eq!(sizes, [7]);
        let sizes: Vec<usize> = sized_chunks(&items[..300]).map(<[usize]>::len).collect();
        assert_eq!(sizes, [256, 32, 12]);
        let joined: Vec<usize> = sized_chunks(&items).flatten().copied().collect();
        assert_eq!(joined, items);
        assert_eq!(sized_chunks(&items[..1]).count(), 1);
        assert_eq!(sized_chunks::<usize>(&[]).count(), 0);
    }

    #[test]
    fn padded_chunks_are_one_per_max_rows_and_a_power_of_two_long() {
        let keys: Vec<usize> = (0..300).collect();
        let chunks: Vec<Vec<usize>> = padded_chunks(Backend::Sqlite, &keys).collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0], (0..256).collect::<Vec<_>>());
        assert_eq!(chunks[1].len(), 64);
        assert_eq!(chunks[1][..44], (256..300).collect::<Vec<_>>()[..]);
        assert!(chunks[1][44..].iter().all(|&k| k == 299));
        let ten: Vec<Vec<u8>> =
            padded_chunks(Backend::Sqlite, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).collect();
        assert_eq!(
            ten,
            [vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10, 10, 10, 10]]
        );
        assert_eq!(padded_chunks::<u8>(Backend::Sqlite, &[]).count(), 0);
        let arrays: Vec<Vec<u8>> = padded_chunks(Backend::Postgres, &[1, 2, 3]).collect();
        assert_eq!(arrays, [vec![1, 2, 3]], "arrays are not padded");
    }
}
