package ws

import (
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
)

// disconnectFor maps the use case's close reasons to close codes
// (protocol/disconnect.go). The delivery's own reasons (a slow or abusive
// client, a frame too large, a recovered panic) use their protocol entries
// directly where they happen.
func disconnectFor(r domain.CloseReason) protocol.Disconnect {
	switch r {
	case domain.CloseGoingAway:
		return protocol.DisconnectGoingAway
	case domain.CloseResync:
		return protocol.DisconnectResync
	case domain.CloseDeleted:
		return protocol.DisconnectDeleted
	case domain.CloseBanned:
		return protocol.DisconnectBanned
	}
	return protocol.DisconnectInternal
}
