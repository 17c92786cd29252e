// Package campaign runs outbound voice campaigns and scheduled callbacks, falling back to SMS
// when a number cannot be reached.
package campaign
