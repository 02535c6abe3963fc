package core

import (
	"errors"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/privacy"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// protect applies the privacy policy to every BYTES input of the decoded
// request: the texts that reach the model, whichever protocol and encoding
// (OIP JSON or binary, :predict text or instances) carried them, and the
// shadow copy, which shares the inputs. It runs after the request's quota
// is taken, so a refused request keeps its charge: the data is decoded
// only once charged (nothing is allocated for a request before), and a
// client cannot probe the detectors for free.
func (ex *exchange) protect(req *pb.ModelInferRequest) *protocol.Error {
	p := ex.g.privacy
	if p == nil {
		return nil
	}
	s := p.Scan(ex.identity.Consumer, ex.identity.Tier)
	ex.privacyAction = string(s.Action())
	for _, in := range req.Inputs {
		if in.GetDatatype() != string(tensor.Bytes) {
			continue
		}
		raw, err := s.Elements(in.Raw, ex.g.cfg.Sidecar.MaxMessageBytes)
		if err != nil {
			if errors.Is(err, privacy.ErrTooLarge) {
				return protocol.Wrap(protocol.KindTooLarge, "the request's text is too large once masked", err)
			}
			return protocol.Wrap(protocol.KindInternal, "internal error", err)
		}
		in.Raw = raw
	}
	s.Each(func(kind string, n int) {
		ex.findings = append(ex.findings, protocol.Finding{Kind: kind, Count: n})
		ex.g.metrics.privacyFindings.WithLabelValues(kind, ex.privacyAction).Add(float64(n))
	})
	if s.Action() == privacy.Reject && len(ex.findings) > 0 {
		ex.g.metrics.privacyRejections.Inc()
		return protocol.Errorf(protocol.KindBadRequest, "the request holds personal data (%s), which the privacy policy refuses",
			strings.Join(s.KindsFound(), ", "))
	}
	return nil
}
