/* sum-client.c: dfs-sum client (being written). */
