"""Running the whole stack on one machine: the launcher (``__main__``, ``make run``), its child
processes (``processes``), supervision (``supervisor``), health probes (``healthcheck``), the
model cache (``train``), the multi-replica topology for tests and benchmarks (``topology``),
free ports (``sockets``) and the terminal chat (``console``)."""
