//! Hash maps for the many look-ups by path and name a run over a large
//! tree makes: std's default hasher (SipHash) was a third of the work of
//! building the project model, most of it hashing paths. foldhash is much
//! faster on short keys and is still seeded per process, so a repository
//! cannot choose file names that collide on purpose.

pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
