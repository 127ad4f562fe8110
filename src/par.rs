//! Work spread over the machine's cores, results in input order, so output
//! stays deterministic however the threads are scheduled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many threads the machine runs at once, asked once per run: the
/// standard library reads the cgroup files on every call, a dozen system
/// calls, which a run on one small file paid three times.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// `items.iter().map(f).collect()`, on as many threads as there are cores.
/// Threads take the next item as they finish one, so a slow file does not
/// hold up a whole share.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len());
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

/// Where each slot's results stand on the thread that hands them on: parts
/// of slots that are not next in line wait here, as do finished slots.
struct InOrder<R> {
    done: Vec<Option<R>>,
    /// Parts of slots after `next`, in the order they came. Few slots have
    /// parts (only a large file is handed on in pieces), hence a map.
    parts: std::collections::HashMap<usize, Vec<R>>,
    next: usize,
}

impl<R> InOrder<R> {
    fn new(slots: usize) -> Self {
        let mut done = Vec::new();
        done.resize_with(slots, || None);
        InOrder {
            done,
            parts: std::collections::HashMap::new(),
            next: 0,
        }
    }

    fn part(&mut self, slot: usize, r: R, sink: &mut impl FnMut(R)) {
        if slot == self.next {
            sink(r);
        } else {
            self.parts.entry(slot).or_default().push(r);
        }
    }

    fn done(&mut self, results: Vec<(usize, R)>, sink: &mut impl FnMut(R)) {
        for (slot, r) in results {
            if let Some(d) = self.done.get_mut(slot) {
                *d = Some(r);
            }
        }
        while let Some(r) = self.done.get_mut(self.next).and_then(Option::take) {
            sink(r);
            self.next += 1;
            for p in self.parts.remove(&self.next).unwrap_or_default() {
                sink(p);
            }
        }
    }
}

/// Finished slots a worker gathers before it hands them on.
const BATCH: usize = 16;

/// What a worker sends: a part of one slot's results, or finished slots.
enum Msg<R> {
    Part(usize, R),
    Done(Vec<(usize, R)>),
}

/// Run `f` over `items` on every core and hand each result to `sink` in
/// order, as soon as it and every result before it are done, so a caller
/// can print or drop results while later ones are still being computed
/// (memory stays bounded by the work in flight, not by the input).
///
/// Each item yields results for one or more slots `0..slots` (a group of
/// files that belong together yields one per file); every slot must be
/// produced by exactly one item. Items are taken in order, so slots near
/// each other finish near each other. Before a slot's result, `f` may hand
/// on parts of it through its second argument: they reach `sink` in the
/// order given, before the slot's result, and at once when the slot is
/// next in line, so a large file is printed as it is worked through.
pub fn stream<T: Send, R: Send>(
    items: Vec<T>,
    slots: usize,
    f: impl Fn(T, &dyn Fn(usize, R)) -> Vec<(usize, R)> + Sync,
    sink: impl FnMut(R),
) {
    stream_on(cores(), items, slots, f, sink);
}

/// [`stream`] on at most `threads` threads.
fn stream_on<T: Send, R: Send>(
    threads: usize,
    items: Vec<T>,
    slots: usize,
    f: impl Fn(T, &dyn Fn(usize, R)) -> Vec<(usize, R)> + Sync,
    mut sink: impl FnMut(R),
) {
    let cells: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let threads = threads.min(cells.len());
    let take = |c: &Mutex<Option<T>>| c.lock().ok().and_then(|mut g| g.take());
    if threads <= 1 {
        let state = std::cell::RefCell::new((InOrder::new(slots), sink));
        for c in &cells {
            let Some(item) = take(c) else { continue };
            let results = f(item, &|slot, r| {
                let (order, sink) = &mut *state.borrow_mut();
                order.part(slot, r, sink);
            });
            let (order, sink) = &mut *state.borrow_mut();
            order.done(results, sink);
        }
        return;
    }
    let next = AtomicUsize::new(0);
    // Bounded, so parts wait for a slow reader instead of piling up.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg<R>>(threads * 4);
    let mut order = InOrder::new(slots);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, cells, f, take) = (&next, &cells, &f, &take);
            s.spawn(move || {
                // Finished slots go to the reader a few items at a time:
                // waking it for each of ten thousand small files cost more
                // than the files. A part first sends what is waiting, so
                // that a large file's parts are printed, not held back.
                let batch = std::cell::RefCell::new(Vec::new());
                let flush = || {
                    let done = std::mem::take(&mut *batch.borrow_mut());
                    done.is_empty() || tx.send(Msg::Done(done)).is_ok()
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = cells.get(i) else { break };
                    let Some(item) = take(c) else { continue };
                    let part = |slot, r| {
                        // A closed channel means the reader is gone; the
                        // next flush notices and stops.
                        if flush() {
                            let _ = tx.send(Msg::Part(slot, r));
                        }
                    };
                    let results = f(item, &part);
                    batch.borrow_mut().extend(results);
                    if batch.borrow().len() >= BATCH && !flush() {
                        return;
                    }
                }
                flush();
            });
        }
        drop(tx);
        for msg in rx {
            match msg {
                Msg::Part(slot, r) => order.part(slot, r, &mut sink),
                Msg::Done(results) => order.done(results, &mut sink),
            }
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
            |g, _| {
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
            |_, _| Vec::<(usize, usize)>::new(),
            |r| none.push(r),
        );
        assert!(none.is_empty());
    }

    #[test]
    fn parts_come_before_their_slot_and_in_order() {
        // Slot 1 is handed on in parts while slot 0 is still being worked
        // on: they wait for it, then come in the order given, then slot 1.
        let want: Vec<String> = (0..3)
            .flat_map(|s| {
                (0..3)
                    .map(move |k| format!("{s}.{k}"))
                    .chain([format!("{s}")])
            })
            .collect();
        for threads in [1, 2, 3] {
            let mut seen = Vec::new();
            super::stream_on(
                threads,
                vec![0usize, 1, 2],
                3,
                |slot, part| {
                    if slot == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    for k in 0..3 {
                        part(slot, format!("{slot}.{k}"));
                    }
                    vec![(slot, format!("{slot}"))]
                },
                |r| seen.push(r),
            );
            assert_eq!(seen, want, "on {threads} threads");
        }
    }
}
