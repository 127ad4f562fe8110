//! Work spread over the machine's cores, results in input order, so output
//! stays deterministic however the threads are scheduled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `items.iter().map(f).collect()`, on as many threads as there are cores.
/// Threads take the next item as they finish one, so a slow file does not
/// hold up a whole share.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    local.push((i, f(item)));
                }
                if let Ok(mut d) = done.lock() {
                    d.extend(local);
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Like [`map`], consuming the items.
pub fn map_owned<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let cells: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    map(&cells, |c| {
        let item = c.lock().ok().and_then(|mut g| g.take());
        item.map(&f)
    })
    .into_iter()
    .flatten()
    .collect()
}

/// Run `f` over `items` on every core and hand each result to `sink` in
/// order, as soon as it and every result before it are done, so a caller
/// can print or drop results while later ones are still being computed
/// (memory stays bounded by the work in flight, not by the input).
///
/// Each item yields results for one or more slots `0..slots` (a group of
/// files that belong together yields one per file); every slot must be
/// produced by exactly one item. Items are taken in order, so slots near
/// each other finish near each other.
pub fn stream<T: Send, R: Send>(
    items: Vec<T>,
    slots: usize,
    f: impl Fn(T) -> Vec<(usize, R)> + Sync,
    mut sink: impl FnMut(R),
) {
    let cells: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(cells.len());
    let mut pending: Vec<Option<R>> = Vec::new();
    pending.resize_with(slots, || None);
    let mut next_out = 0;
    let mut take = |results: Vec<(usize, R)>, pending: &mut Vec<Option<R>>| {
        for (slot, r) in results {
            if let Some(p) = pending.get_mut(slot) {
                *p = Some(r);
            }
        }
        while let Some(r) = pending.get_mut(next_out).and_then(Option::take) {
            sink(r);
            next_out += 1;
        }
    };
    let run = |c: &Mutex<Option<T>>| {
        c.lock()
            .ok()
            .and_then(|mut g| g.take())
            .map(&f)
            .unwrap_or_default()
    };
    if threads <= 1 {
        for c in &cells {
            take(run(c), &mut pending);
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel::<Vec<(usize, R)>>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, cells, run) = (&next, &cells, &run);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cells.get(i) else { break };
                if tx.send(run(c)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for results in rx {
            take(results, &mut pending);
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let v: Vec<u64> = (0..1000).collect();
        assert_eq!(
            super::map(&v, |x| x * 2),
            v.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
        assert_eq!(
            super::map_owned(v.clone(), |x| x + 1),
            v.iter().map(|x| x + 1).collect::<Vec<_>>()
        );
        assert!(super::map(&Vec::<u8>::new(), |x| *x).is_empty());
    }

    #[test]
    fn stream_hands_out_slots_in_order_whatever_the_grouping() {
        // Groups of slots that are not contiguous: (0, 5), (1), (2, 3), (4).
        let groups = vec![vec![0, 5], vec![1], vec![2, 3], vec![4]];
        let mut seen = Vec::new();
        super::stream(
            groups,
            6,
            |g| {
                std::thread::sleep(std::time::Duration::from_millis(g.len() as u64));
                g.into_iter().map(|i| (i, i * 10)).collect()
            },
            |r| seen.push(r),
        );
        assert_eq!(seen, vec![0, 10, 20, 30, 40, 50]);
        let mut none = Vec::new();
        super::stream(
            Vec::<Vec<usize>>::new(),
            0,
            |_| Vec::<(usize, usize)>::new(),
            |r| none.push(r),
        );
        assert!(none.is_empty());
    }
}
