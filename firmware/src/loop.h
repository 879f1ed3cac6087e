/* The firmware main loop: read bytes, parse frames, reply. */
#ifndef EBQ_FW_LOOP_H
#define EBQ_FW_LOOP_H

/* Inter-byte gap after which a started frame counts as truncated. */
#ifndef EBQ_FW_RX_TIMEOUT_MS
#define EBQ_FW_RX_TIMEOUT_MS 200u
#endif

/* Serves requests until the link reports EOF (host only; devices never return). */
void ebq_fw_run(void);

#endif /* EBQ_FW_LOOP_H */
