/* Request handling: turns one parser event into one reply frame, calling the ebq_* runtime
 * against the generated model (model_data.h). */
#ifndef EBQ_FW_SERVER_H
#define EBQ_FW_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define EBQ_REPLY_BUFFER_BYTES (EBQ_FRAME_OVERHEAD + EBQ_FRAME_MAX_PAYLOAD)

/* Binds the static arena to the model; a failure is kept and reported by INFO and INFER. */
void ebq_server_init(void);

/* Writes the reply to ev into out (EBQ_REPLY_BUFFER_BYTES) and returns its length, or 0 when
 * no reply is due (frames with the response bit set, e.g. our own replies echoed back). */
size_t ebq_server_reply(const ebq_frame_event *ev, uint8_t *out);

#endif /* EBQ_FW_SERVER_H */
