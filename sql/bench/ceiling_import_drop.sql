DROP TABLE IF EXISTS bench_ceiling_import SYNC
