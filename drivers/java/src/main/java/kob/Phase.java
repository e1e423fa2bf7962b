package kob;

/** A timed phase (a round or a fixed-rate run) that completions are counted into. */
interface Phase {
    /**
     * One record of this phase completed at {@code nowNs}: acknowledged when
     * {@code ok}, else failed. {@code stampNs} is the time its stamp carries.
     * Called from the client's I/O thread, or from the sending thread when
     * {@code send()} fails synchronously.
     */
    void complete(long nowNs, long stampNs, boolean ok);
}
