SELECT toUInt64(countIf(kind = 'transition')) AS transitions, toUInt64(countIf(kind = 'item')) AS items FROM bench_ceiling_import
