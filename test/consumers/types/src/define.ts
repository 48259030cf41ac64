// The side-effect import registers the tags and types them on HTMLElementTagNameMap.
import 'syncline/define';
